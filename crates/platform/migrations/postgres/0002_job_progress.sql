-- What a running job last reported of its progress (e.g. "120000 records"), for the jobs page.
ALTER TABLE jobs ADD COLUMN progress TEXT NOT NULL DEFAULT '';
