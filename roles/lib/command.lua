-- command / shell: run a command on the host.
--   command { cmd = "...", creates = path, removes = path, unless = "cmd",
--             changed_when = false | function(r), failed_when = function(r),
--             retries = n, delay = seconds, ["until"] = function(r), chdir, env,
--             stdin, stdin_file, timeout, become }
-- creates: skip when the path exists; removes: skip unless it exists;
-- unless: skip when that command succeeds. stdin_file: a file of the deploy
-- node streamed as the command's stdin (ezk.exec's; nothing is written on
-- the host unless the command writes it). Under --check the command does
-- not run (it reports changed, as Ansible does) unless check_mode = false.

local q, trim = ezk.q, ezk.trim

local function run(a, ctx)
  local cmd = a.cmd or a[1]
  if not cmd then return { failed = true, msg = "cmd is required" } end
  local opts = { cwd = a.chdir, env = a.env, stdin = a.stdin,
    stdin_file = a.stdin_file, timeout = a.timeout, become = a.become }
  if a.creates then
    if ezk.exec("[ -e " .. q(a.creates) .. " ]").rc == 0 then
      return { changed = false, msg = a.creates .. " exists" }
    end
  end
  if a.removes then
    if ezk.exec("[ -e " .. q(a.removes) .. " ]").rc ~= 0 then
      return { changed = false, msg = a.removes .. " does not exist" }
    end
  end
  if a.unless then
    if ezk.exec(a.unless, { become = a.become }).rc == 0 then
      return { changed = false, msg = "unless succeeded" }
    end
  end
  if ctx.check then return { changed = true, msg = "would run: " .. cmd } end
  local tries = (a.retries or 0) + 1
  local r
  for i = 1, tries do
    r = ezk.exec(cmd, opts)
    local good
    if a["until"] then good = a["until"](r) else good = r.rc == 0 end
    if good or i == tries then break end
    if a.delay and a.delay > 0 then ezk.exec("sleep " .. tonumber(a.delay)) end
  end
  local failed
  if a.failed_when ~= nil then
    failed = type(a.failed_when) == "function" and a.failed_when(r) or (a.failed_when == true)
  else
    failed = r.rc ~= 0 or r.timed_out
  end
  local changed = true
  if a.changed_when ~= nil then
    if type(a.changed_when) == "function" then changed = a.changed_when(r) and true or false
    else changed = a.changed_when and true or false end
  end
  local msg
  if failed then
    msg = r.timed_out and "timed out" or ("exit " .. r.rc .. ((r.stderr ~= "") and (": " .. trim(r.stderr)) or ""))
  end
  return { changed = changed and not failed, failed = failed, msg = msg,
    rc = r.rc, stdout = r.stdout, stderr = r.stderr }
end

ezk.module("command", run)
ezk.module("shell", run)
