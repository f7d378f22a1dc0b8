-- File sources on an S3-compatible prefix (docs/files.md, "S3 prefixes"): a landed object's
-- manifest row names it s3://<bucket>/<key> and keeps the ETag it was listed with, so a later
-- pass sees an object whose ETag and size match a landed version as unchanged without reading
-- its bytes again. Null for files from a folder.
alter table raw.file_manifest add column if not exists source_etag text;
