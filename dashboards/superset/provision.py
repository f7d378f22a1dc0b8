"""Provision ShopFlow's Superset in one app start: admin user, then the dashboard bundle.

Run with the Superset venv's python and the environment from dashboards/lib/paths.ts:

  python provision.py <bundle_dir> <zip_path>

Reads from the environment:
  SHOPFLOW_SUPERSET_ADMIN_USER / SHOPFLOW_SUPERSET_ADMIN_PASSWORD  the admin to create or update
  SHOPFLOW_SUPERSET_WAREHOUSE_URI  postgresql+psycopg2 URI of the warehouse as bi_reader

The bundle directory is zipped under one top folder (Superset's importer strips the first
path component), the warehouse URI is written into the database file inside the zip only,
and the zip is imported with ImportAssetsCommand, which overwrites every database, dataset,
chart and dashboard with the same uuid: a second run is an update, never a duplicate.
Prints one JSON line with what was imported.
"""

import json
import os
import sys
import traceback
import zipfile
from pathlib import Path

import yaml

ZIP_ROOT = "shopflow_dashboards"


def build_zip(bundle_dir: Path, zip_path: Path, warehouse_uri: str) -> dict[str, str]:
    """Zip the bundle with the warehouse URI filled in; returns {database file: password}."""
    passwords: dict[str, str] = {}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    from sqlalchemy.engine.url import make_url

    url = make_url(warehouse_uri)
    masked_uri = url.set(password="XXXXXXXXXX").render_as_string(hide_password=False)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(bundle_dir.rglob("*.yaml")):
            relative = path.relative_to(bundle_dir).as_posix()
            text = path.read_text(encoding="utf-8")
            if relative.startswith("databases/"):
                config = yaml.safe_load(text)
                config["sqlalchemy_uri"] = masked_uri
                text = yaml.safe_dump(config, sort_keys=False)
                passwords[relative] = url.password or ""
            bundle.writestr(f"{ZIP_ROOT}/{relative}", text)
    return passwords


def ensure_admin(security_manager, username: str, password: str) -> object:
    user = security_manager.find_user(username=username)
    if user is None:
        role = security_manager.find_role("Admin")
        user = security_manager.add_user(username, "ShopFlow", "Admin", f"{username}@shopflow.local", role, password=password)
        if not user:
            raise RuntimeError(f"could not create the Superset admin user {username!r}")
    else:
        # Keep the password in step with SUPERSET_ADMIN_PASSWORD on every run.
        security_manager.reset_password(user.id, password)
    return user


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    bundle_dir, zip_path = Path(sys.argv[1]), Path(sys.argv[2])
    username = os.environ["SHOPFLOW_SUPERSET_ADMIN_USER"]
    password = os.environ["SHOPFLOW_SUPERSET_ADMIN_PASSWORD"]
    warehouse_uri = os.environ["SHOPFLOW_SUPERSET_WAREHOUSE_URI"]

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g

        from superset import db, security_manager
        from superset.commands.exceptions import CommandInvalidError
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle
        from superset.models.dashboard import Dashboard

        user = ensure_admin(security_manager, username, password)
        db.session.commit()
        g.user = user

        passwords = build_zip(bundle_dir, zip_path, warehouse_uri)
        with zipfile.ZipFile(zip_path) as bundle:
            contents = get_contents_from_bundle(bundle)
        try:
            ImportAssetsCommand(contents, passwords=passwords).run()
        except Exception as error:  # noqa: BLE001 - reported in full below
            # Name every invalid file and field instead of a bare "Error importing assets";
            # Superset's transaction wrapper re-raises the validation error as its cause.
            invalid = error
            while invalid is not None and not isinstance(invalid, CommandInvalidError):
                invalid = invalid.__cause__ or invalid.__context__
            if invalid is None:
                traceback.print_exception(error, file=sys.stderr)
            details = invalid.normalized_messages() if invalid is not None else repr(error)
            print(json.dumps({"error": "invalid bundle", "details": details}, default=str), file=sys.stderr)
            return 1
        dashboards = [
            {"id": d.id, "slug": d.slug, "title": d.dashboard_title, "charts": len(d.slices)}
            for d in db.session.query(Dashboard).order_by(Dashboard.id)
        ]
        print(json.dumps({"zip": str(zip_path), "files": len(contents), "dashboards": dashboards}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
