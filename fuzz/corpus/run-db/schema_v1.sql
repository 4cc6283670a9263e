-- Frozen copy of schema version 1 (PRAGMA user_version 1), the first RankLab run database, with a
-- few rows as that release wrote them. Never edit: test_run_store_migration.cpp replays it to check
-- that today's code upgrades such a file without losing anything.
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  status TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  seconds REAL,
  model_path TEXT NOT NULL DEFAULT '',
  model_hash TEXT NOT NULL DEFAULT '',
  architecture TEXT NOT NULL DEFAULT '',
  decomposition TEXT NOT NULL DEFAULT '',
  selector TEXT NOT NULL DEFAULT '',
  keep_target REAL,
  kept_fraction REAL,
  compressible_before INTEGER NOT NULL DEFAULT 0,
  compressible_after INTEGER NOT NULL DEFAULT 0,
  total_before INTEGER NOT NULL DEFAULT 0,
  total_after INTEGER NOT NULL DEFAULT 0,
  calib_path TEXT NOT NULL DEFAULT '',
  calib_hash TEXT NOT NULL DEFAULT '',
  eval_path TEXT NOT NULL DEFAULT '',
  eval_hash TEXT NOT NULL DEFAULT '',
  seed INTEGER NOT NULL DEFAULT 0,
  config_json TEXT NOT NULL DEFAULT '',
  versions_json TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  metric TEXT NOT NULL DEFAULT '',
  metric_before REAL,
  metric_after REAL
);
CREATE TABLE op_results (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  op_index INTEGER NOT NULL,
  name TEXT NOT NULL,
  layer INTEGER NOT NULL,
  kind TEXT NOT NULL,
  in_features INTEGER NOT NULL,
  out_features INTEGER NOT NULL,
  kept_rank INTEGER NOT NULL,
  full_rank INTEGER NOT NULL,
  factorised INTEGER NOT NULL,
  energy_kept REAL,
  spectrum BLOB NOT NULL,
  plain_spectrum BLOB NOT NULL,
  PRIMARY KEY (run_id, op_index)
);
CREATE TABLE series (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL
);
CREATE TABLE eval_points (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  dataset TEXT NOT NULL,
  metric TEXT NOT NULL,
  kept_fraction REAL,
  value REAL,
  counted INTEGER NOT NULL
);
CREATE INDEX eval_points_run ON eval_points(run_id);
INSERT INTO runs (id, uuid, status, name, created_at, finished_at, seconds, model_path, model_hash, architecture,
  decomposition, selector, keep_target, kept_fraction, compressible_before, compressible_after, total_before,
  total_after, calib_path, calib_hash, eval_path, eval_hash, seed, config_json, versions_json, device, error,
  metric, metric_before, metric_after)
VALUES (1, '0b7f4c1e-3a52-4d8e-9f10-2c6a8b4d5e01', 'succeeded', 'svd+uniform p=0.50', '2026-03-01T10:00:00Z',
  '2026-03-01T10:01:30Z', 90.5, 'models/tiny-gpt2', 'aa11', 'gpt2', 'svd', 'uniform', 0.5, 0.4975, 4096, 2038,
  10000, 7942, 'data/calib.txt', 'cc22', 'data/eval.txt', 'ee33', 7, '{"steps":0}', '{"ranklab":"0.0.9"}', 'cpu',
  '', 'perplexity', 31.25, 48.5);
INSERT INTO runs (id, uuid, status, name, created_at, seconds, model_path, architecture, decomposition, selector,
  keep_target, seed, device, error, metric, metric_before, metric_after)
VALUES (2, '5d2e9a77-1c0b-4f63-8e4d-7a1b2c3d4e5f', 'failed', 'asvd+energy p=0.30', '2026-03-02T08:30:00Z', 3.0,
  'models/tiny-llama', 'llama', 'asvd', 'energy', 0.3, 1, 'cpu', 'calibration file is empty', 'perplexity', NULL,
  NULL);
INSERT INTO op_results (run_id, op_index, name, layer, kind, in_features, out_features, kept_rank, full_rank,
  factorised, energy_kept, spectrum, plain_spectrum)
VALUES (1, 0, 'h.0.attn.q', 0, 'q', 32, 32, 16, 32, 1, 0.75, X'000040400000803F0000003F', X'0000404000000040');
INSERT INTO op_results (run_id, op_index, name, layer, kind, in_features, out_features, kept_rank, full_rank,
  factorised, energy_kept, spectrum, plain_spectrum)
VALUES (1, 1, 'h.0.mlp.up', 0, 'up', 32, 128, 32, 32, 0, 1.0, X'', X'');
INSERT INTO series (run_id, step, name, value) VALUES (1, 0, 'loss', 4.5);
INSERT INTO series (run_id, step, name, value) VALUES (1, 0, 'budget', 1.0);
INSERT INTO series (run_id, step, name, value) VALUES (1, 1, 'loss', 4.25);
INSERT INTO eval_points (run_id, stage, dataset, metric, kept_fraction, value, counted)
VALUES (1, 'before', 'data/eval.txt', 'perplexity', 1.0, 31.25, 2048);
INSERT INTO eval_points (run_id, stage, dataset, metric, kept_fraction, value, counted)
VALUES (1, 'after', 'data/eval.txt', 'perplexity', 0.4975, 48.5, 2048);
