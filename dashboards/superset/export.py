"""Write every database, dataset, chart and dashboard in the local Superset back into the bundle.

Run with the Superset venv's python and the environment from dashboards/lib/paths.ts:

  python export.py <bundle_dir>

Uses Superset's own asset export (the same files as the UI's export), then makes the output
fit for version control: the database URI becomes a placeholder (the real one, with the
bi_reader password, is filled in at import time), the export timestamp is fixed, and the
YAML files of the four asset folders are replaced so that deleted charts disappear too.
Prints one JSON line: {"files": N}.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import yaml

PLACEHOLDER_URI = "postgresql+psycopg2://bi_reader:XXXXXXXXXX@127.0.0.1:54329/shopflow"
ASSET_FOLDERS = ("databases", "datasets", "charts", "dashboards")


def normalise(file_name: str, text: str) -> str:
    if file_name == "metadata.yaml":
        config = yaml.safe_load(text)
        config["timestamp"] = "2024-01-01T00:00:00+00:00"
        # Without a type both the assets importer and `superset import-dashboards` accept the bundle.
        config.pop("type", None)
        return yaml.safe_dump(config, sort_keys=False)
    if file_name.startswith("databases/"):
        config = yaml.safe_load(text)
        config["sqlalchemy_uri"] = PLACEHOLDER_URI
        return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return text


def stable_name(name: str, text: str, taken: set[str]) -> str:
    """Superset names files after titles plus database ids (Sales_5.yaml); ids differ between
    instances, so drop them (dashboards take their slug) unless that would clash."""
    candidate = re.sub(r"_\d+\.yaml$", ".yaml", name)
    if name.startswith("dashboards/"):
        slug = (yaml.safe_load(text) or {}).get("slug")
        if slug:
            candidate = f"dashboards/{slug}.yaml"
    if candidate in taken:
        candidate = name
    taken.add(candidate)
    return candidate


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    bundle_dir = Path(sys.argv[1])
    username = os.environ["SHOPFLOW_SUPERSET_ADMIN_USER"]

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g

        from superset import security_manager
        from superset.commands.export.assets import ExportAssetsCommand

        g.user = security_manager.find_user(username=username)
        files = [(name, content()) for name, content in ExportAssetsCommand().run()]

    # Replace only after the export succeeded, so a failure leaves the bundle as it was.
    for folder in ASSET_FOLDERS:
        shutil.rmtree(bundle_dir / folder, ignore_errors=True)
    taken: set[str] = set()
    for name, text in files:
        if name.startswith("queries/"):
            continue  # saved SQL Lab queries are personal, not part of the dashboards
        target = bundle_dir / stable_name(name, text, taken)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(normalise(name, text), encoding="utf-8")
    print(json.dumps({"files": len(files)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
