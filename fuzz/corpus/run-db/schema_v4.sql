-- Frozen copy of schema version 4 (PRAGMA user_version 4) with three real runs written by
-- ranklab-cli 0.1.0 before evaluation protocols were stored: gpt-mini, svd+uniform p = 0.5 evaluated
-- on the first 2 and the first 3 documents of resources/data/lm/test.txt, and svd+energy p = 0.4 on
-- 2 documents (op_results, series and mask_frames emptied to keep the file small). Never edit:
-- test_run_store_migration.cpp replays it to check the upgrade to schema 5.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
, sweep_id TEXT NOT NULL DEFAULT '', spec_hash TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '');
INSERT INTO runs VALUES(1,'396e9cd6-2507-486c-aea3-709b8134f01d','succeeded','uniform 2 docs','2026-12-06T19:17:18Z','2026-12-06T19:17:32Z',14.368156752000000864,'/work/main/resources/models/gpt-mini','5e07a6e2210b915a8e20cd02d52791733b1c746f1170d665288f95b661e519a7','gpt2','svd','uniform',0.5,0.49869791666666668517,3145728,1568768,4240896,2663936,'','','/work/main/resources/data/lm/test.txt','1622eb7b681c07d8ffe8517f405928af176e86f6608f76c3e6318f5b02f3d397',0,'{"ars_align_norm":"energy","ars_bias":3.0,"ars_early_stop":true,"ars_gamma":10.0,"ars_lambda":16.0,"ars_lr":0.001,"ars_steps":1000,"ars_tau":0.4,"ars_time_budget":0.0,"batch_size":8,"beta1":0.85,"beta2":0.85,"cache_dir":"","calib":"","calib_length":0,"calib_samples":32,"db":"/tmp/v4fix/runs.db","decomposition":"svd","device":"auto","energy":-1.0,"eval":"resources/data/lm/test.txt","eval_context":0,"eval_stride":0,"export":"","final_steps":-1,"finetune_steps":0,"format":"factorized","keep":0.5,"labelled":"","learning_rate":0.0001,"log_every":10,"manual_ranks":{},"max_eval_documents":2,"model":"resources/models/gpt-mini","name":"uniform 2 docs","orth_reg":0.1,"propagate_compressed":false,"randomized_svd":false,"rank_ratio":-1.0,"realloc_every":10,"seed":0,"selector":"uniform","sensitivity_ratios":[],"separator":"<|endoftext|>","store":true,"sweep_id":"","tags":[],"threads":0,"tokenizer":"","train":"","truncate":false,"use_cache":true,"warmup_steps":-1}','{"ranklab":"0.1.0","sqlite":"3.40.1","torch":"1.13.0"}','cpu','','perplexity',85.57960908928532717,96.500848213125394181,'','1c8424dca6930a172bbd3ac3ca7a3efbbc56d00ca5ac11d4c975cb1dbcc437dc','','vm:14037:4611485');
INSERT INTO runs VALUES(2,'68245cfe-2ece-47b6-9013-19b1d0ae2b11','succeeded','uniform 3 docs','2026-12-06T19:17:33Z','2026-12-06T19:17:48Z',15.665394370999999651,'/work/main/resources/models/gpt-mini','5e07a6e2210b915a8e20cd02d52791733b1c746f1170d665288f95b661e519a7','gpt2','svd','uniform',0.5,0.49869791666666668517,3145728,1568768,4240896,2663936,'','','/work/main/resources/data/lm/test.txt','1622eb7b681c07d8ffe8517f405928af176e86f6608f76c3e6318f5b02f3d397',0,'{"ars_align_norm":"energy","ars_bias":3.0,"ars_early_stop":true,"ars_gamma":10.0,"ars_lambda":16.0,"ars_lr":0.001,"ars_steps":1000,"ars_tau":0.4,"ars_time_budget":0.0,"batch_size":8,"beta1":0.85,"beta2":0.85,"cache_dir":"","calib":"","calib_length":0,"calib_samples":32,"db":"/tmp/v4fix/runs.db","decomposition":"svd","device":"auto","energy":-1.0,"eval":"resources/data/lm/test.txt","eval_context":0,"eval_stride":0,"export":"","final_steps":-1,"finetune_steps":0,"format":"factorized","keep":0.5,"labelled":"","learning_rate":0.0001,"log_every":10,"manual_ranks":{},"max_eval_documents":3,"model":"resources/models/gpt-mini","name":"uniform 3 docs","orth_reg":0.1,"propagate_compressed":false,"randomized_svd":false,"rank_ratio":-1.0,"realloc_every":10,"seed":0,"selector":"uniform","sensitivity_ratios":[],"separator":"<|endoftext|>","store":true,"sweep_id":"","tags":[],"threads":0,"tokenizer":"","train":"","truncate":false,"use_cache":true,"warmup_steps":-1}','{"ranklab":"0.1.0","sqlite":"3.40.1","torch":"1.13.0"}','cpu','','perplexity',83.3749337621815414,94.031916143357719304,'','4509aa433be729b35eff306d122badb49f2a3b1e1a5796e536a9a5a20d2c3264','','vm:14041:4613015');
INSERT INTO runs VALUES(3,'d1d27d59-e619-4cfc-afb6-8bbb579470ca','succeeded','energy 2 docs','2026-12-06T19:17:49Z','2026-12-06T19:18:04Z',15.360548393000000189,'/work/main/resources/models/gpt-mini','5e07a6e2210b915a8e20cd02d52791733b1c746f1170d665288f95b661e519a7','gpt2','svd','energy',0.4000000000000000222,0.39990234375,3145728,1257984,4240896,2353152,'','','/work/main/resources/data/lm/test.txt','1622eb7b681c07d8ffe8517f405928af176e86f6608f76c3e6318f5b02f3d397',0,'{"_details":{"energy_threshold":0.7011517223883845},"ars_align_norm":"energy","ars_bias":3.0,"ars_early_stop":true,"ars_gamma":10.0,"ars_lambda":16.0,"ars_lr":0.001,"ars_steps":1000,"ars_tau":0.4,"ars_time_budget":0.0,"batch_size":8,"beta1":0.85,"beta2":0.85,"cache_dir":"","calib":"","calib_length":0,"calib_samples":32,"db":"/tmp/v4fix/runs.db","decomposition":"svd","device":"auto","energy":-1.0,"eval":"resources/data/lm/test.txt","eval_context":0,"eval_stride":0,"export":"","final_steps":-1,"finetune_steps":0,"format":"factorized","keep":0.4,"labelled":"","learning_rate":0.0001,"log_every":10,"manual_ranks":{},"max_eval_documents":2,"model":"resources/models/gpt-mini","name":"energy 2 docs","orth_reg":0.1,"propagate_compressed":false,"randomized_svd":false,"rank_ratio":-1.0,"realloc_every":10,"seed":0,"selector":"energy","sensitivity_ratios":[],"separator":"<|endoftext|>","store":true,"sweep_id":"","tags":[],"threads":0,"tokenizer":"","train":"","truncate":false,"use_cache":true,"warmup_steps":-1}','{"ranklab":"0.1.0","sqlite":"3.40.1","torch":"1.13.0"}','cpu','','perplexity',85.57960908928532717,100.50200531523559278,'','5e4118cb62d000bde88708b163312596d04b09b9ee8f1b1061dd2c066e9ebc7a','','vm:14045:4614641');
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
  factorized INTEGER NOT NULL,
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
INSERT INTO eval_points VALUES(1,1,'before','/work/main/resources/data/lm/test.txt','perplexity',1.0,85.57960908928532717,43290);
INSERT INTO eval_points VALUES(2,1,'after','/work/main/resources/data/lm/test.txt','perplexity',0.49869791666666668517,96.500848213125394181,43290);
INSERT INTO eval_points VALUES(3,2,'before','/work/main/resources/data/lm/test.txt','perplexity',1.0,83.3749337621815414,45299);
INSERT INTO eval_points VALUES(4,2,'after','/work/main/resources/data/lm/test.txt','perplexity',0.49869791666666668517,94.031916143357719304,45299);
INSERT INTO eval_points VALUES(5,3,'before','/work/main/resources/data/lm/test.txt','perplexity',1.0,85.57960908928532717,43290);
INSERT INTO eval_points VALUES(6,3,'after','/work/main/resources/data/lm/test.txt','perplexity',0.39990234375,100.50200531523559278,43290);
CREATE TABLE run_tags (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (run_id, position),
  UNIQUE (run_id, tag)
);
CREATE TABLE mask_frames (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  ranks BLOB NOT NULL,
  bit_lengths BLOB,
  bits BLOB,
  PRIMARY KEY (run_id, step)
);
CREATE TABLE sensitivity (
  table_key TEXT NOT NULL,
  position INTEGER NOT NULL,
  op_index INTEGER NOT NULL,
  ratio REAL,
  perplexity REAL,
  PRIMARY KEY (table_key, position)
);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('runs',3);
CREATE INDEX eval_points_run ON eval_points(run_id);
CREATE UNIQUE INDEX runs_uuid ON runs(uuid);
CREATE INDEX runs_spec_hash ON runs(spec_hash);
CREATE INDEX runs_sweep_id ON runs(sweep_id);
CREATE INDEX series_run_name_step ON series(run_id, name, step);
CREATE INDEX run_tags_tag ON run_tags(tag);
COMMIT;
PRAGMA user_version = 4;
