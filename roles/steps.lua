-- The steps of `ezk setup <cluster> <steps>`, kubeasz's numbering and names
-- (DESIGN.md). Each step is a list of plays; a play names its hosts (a
-- --limit pattern) and its roles, and may set any_errors_fatal, serial,
-- run_once and become (roles/lib/README.md).
--
-- The roles of the install steps arrive step by step (see the issues); a
-- step without plays does nothing and says so.
return {
  { id = "01", alias = "prepare", plays = {} },
  { id = "02", alias = "etcd", plays = {} },
  { id = "03", alias = "runtime", plays = {} },
  { id = "04", alias = "master", plays = {} },
  { id = "05", alias = "node", plays = {} },
  { id = "06", alias = "network", plays = {} },
  { id = "07", alias = "addons", plays = {} },
  { id = "10", alias = "ex-lb", plays = {} },
  { id = "11", alias = "harbor", plays = {} },
  { id = "90", alias = "all", plays = {} }, -- 01..07
  { id = "99", alias = "clean", plays = {} },
}
