-- cluster-restore/verify (ezk restore, step 95: on the deploy node, first;
-- any_errors_fatal): the snapshot to restore is the one ezk restore
-- checked against its recorded sha256 (db_to_restore, EZK_RESTORE_SHA256:
-- the command sets both), so nothing stops for a file that changed since or
-- a run of the step without the command.

local vars = ezk.vars
local db, want = tostring(vars.db_to_restore or ""), tostring(vars.EZK_RESTORE_SHA256 or "")
if db == "" or want == "" then
  ezk.fail("step 95 restore runs by 'ezk restore <cluster> [FILE]', which checks the snapshot's sha256 first")
end
local got, err = ezk.sha256_file(db)
if not got then ezk.fail("the snapshot " .. db .. ": " .. tostring(err)) end
if got ~= want then
  ezk.fail("the snapshot " .. db .. " has sha256 " .. got .. ", not " .. want .. " as checked: nothing was stopped")
end
ezk.report("snapshot " .. db, "ok", "sha256 " .. got)
