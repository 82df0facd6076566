-- The benchmark workload: one step, one play, one role (bench/main.lua);
-- tests/bench/workload/playbook.yml is the same for ansible-playbook.
return {
  { id = "01", alias = "bench", plays = {
      { hosts = "bench", roles = { "bench" } },
  } },
}
