-- package: distribution packages, from the host's repositories or from
-- package files on the deploy node (offline installs).
--
--   package { name = { "conntrack", "ipset", "socat" } }
--   package { deb = { "debs/containerd_1.6.20_amd64.deb" } }    -- offline
--   package { name = "ufw", state = "absent" }
--
-- Options:
--   name          string or list: package names; on apt hosts "name=version"
--                 pins a version (installed means exactly that version)
--   state         "present" (default) | "absent"
--   deb           string or list: .deb files on the deploy node (relative:
--                 the role's files/), for apt hosts. Each is uploaded to
--                 /var/cache/ezk/packages/ (nothing is sent when the host's
--                 copy has the same sha256; the copy is kept as a cache),
--                 its package name and version read with dpkg-deb, and it is
--                 installed (apt-get install /var/cache/ezk/packages/x.deb, which
--                 takes dependencies from the repositories when it must)
--                 unless that version is installed.
--   rpm           the same for dnf/yum hosts (rpm -qp; dnf/yum install FILE)
--   repo          a directory of .deb files on the deploy node (offline
--                 installs: the bundle's packages/debian_12/): the names
--                 missing on an apt host are installed from those files
--                 alone, with the dependencies they need and nothing else.
--                 Only then are the files sent (to /var/cache/ezk/packages/
--                 <dir's name>/, skipped when the host's copy has the same
--                 sha256), indexed there with dpkg-deb (a Packages file) and
--                 installed by apt-get with that directory as its only
--                 source (its own lists: the host's apt state is not touched).
--   update_cache  true: apt-get update / dnf makecache before installing
--                 (only when something is to be installed)
--   purge         true: state=absent purges (apt-get purge; config files go)
--
-- The manager is facts().pkg: apt-get (dpkg-query -W to check), dnf or yum
-- (rpm -q). An installed package is ok without running the manager: one
-- round trip to check (after the uploads, for package files). Installing or
-- removing is one more, and a check that it took. Under --check a package
-- file not yet on the host is reported as "would install" (its name is only
-- known on the host). Under --diff: the packages installed / removed.

local q, trim, lines, role_file, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.role_file, ezk.text_diff

local CACHE = "/var/cache/ezk/packages/"

-- ezk_pkg_names apt|rpm NAME...: what the package database has under these
-- names, a line each (missing ones: none), in one process. dpkg-query exits 1
-- when a name is missing (not an error), 2 when it cannot read; rpm -q
-- exits with the number missing and prints "package X is not installed"
-- lines, which have no Q. (Defined once per session, run by the resident
-- shell itself: locals and return only.)
local NAMES_SH = [[
ezk_pkg_names() {
  local pm="$1" rc
  shift
  if [ "$pm" = apt ]; then
    LC_ALL=C dpkg-query -W -f='Q\t${binary:Package}\t${Package}\t${Status}\t${Version}\n' -- "$@" 2>/dev/null
    rc=$?
    [ "$rc" -le 1 ] || { echo "dpkg-query failed (exit $rc)" >&2; return 1; }
  else
    LC_ALL=C rpm -q --qf 'Q\t%{NAME}\t%{NAME}\tinstall ok installed\t%{VERSION}-%{RELEASE}\n' -- "$@" 2>/dev/null
  fi
  return 0
}
]]

local function list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

local function tail_msg(s, n)
  local ls = lines(s)
  local out = {}
  for i = math.max(1, #ls - (n or 6) + 1), #ls do out[#out + 1] = ls[i] end
  return table.concat(out, "\n")
end

ezk.module("package", function(a, ctx)
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end
  local names = list(a.name)
  for _, n in ipairs(names) do
    if type(n) ~= "string" or not n:match("^[%w][%w%+%-%.:_=~]*$") then
      return { failed = true, msg = "bad package name: " .. tostring(n) }
    end
  end
  local pm = ezk.facts().pkg
  if pm == nil or pm == "" then return { failed = true, msg = "no package manager found (apt-get, dnf or yum)" } end
  local apt = pm == "apt-get"
  local files = list(apt and a.deb or a.rpm)
  if a.repo ~= nil and (not apt or absent or #files > 0 or #names == 0) then
    return { failed = true, msg = "repo installs names (state present) on apt hosts, without deb or rpm" }
  end
  if not absent and #files == 0 and (apt and a.rpm or (not apt and a.deb)) then
    return { failed = true, msg = (apt and "rpm" or "deb") .. " files need " .. (apt and "dnf/yum" or "apt") .. "; this host has " .. pm }
  end
  if absent then files = {} end
  if #names == 0 and #files == 0 then return { failed = true, msg = "name or " .. (apt and "deb" or "rpm") .. " is required" } end

  -- package files: uploaded to the cache (or, under check, looked for there)
  local remote, unknown = {}, {}
  for _, f in ipairs(files) do
    local p = role_file(tostring(f))
    local dest = CACHE .. p:match("([^/]+)$")
    local would, err = ezk.upload { dest = dest, src = p, mode = "0644", mkdir = true, check = ctx.check }
    if would == nil then return { failed = true, msg = err } end
    if ctx.check and would then unknown[#unknown + 1] = p:match("([^/]+)$") else remote[#remote + 1] = dest end
  end

  -- inspect: every name in one query ("Q<tab>binary:Package<tab>Package
  -- <tab>status<tab>version" per package the database has; ezk_pkg_names, a
  -- function of the resident shell: one process), then per file
  -- "F<tab>package<tab>version<tab>status<tab>installed version"
  local sh = {}
  if #names > 0 then
    local call = { "ezk_pkg_names", apt and "apt" or "rpm" }
    for _, n in ipairs(names) do call[#call + 1] = q((n:gsub("=.*$", ""))) end
    sh[1] = table.concat(call, " ")
  end
  if #remote > 0 then sh[#sh + 1] = "LC_ALL=C; export LC_ALL" end
  for _, f in ipairs(remote) do
    if apt then
      sh[#sh + 1] = "set -- $(dpkg-deb -f " .. q(f) .. " Package Version | sed 's/^[^:]*: *//'); " ..
        "[ -n \"$2\" ] || { echo " .. q("cannot read " .. f .. " with dpkg-deb") .. " >&2; exit 1; }; " ..
        "s=$(dpkg-query -W -f='${Status}\\t${Version}' -- \"$1\" 2>/dev/null) || s='unknown ok not-installed\t'; " ..
        "printf 'F\\t%s\\t%s\\t%s\\n' \"$1\" \"$2\" \"$s\""
    else
      sh[#sh + 1] = "set -- $(rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE}' " .. q(f) .. " 2>/dev/null); " ..
        "[ -n \"$2\" ] || { echo " .. q("cannot read " .. f .. " with rpm") .. " >&2; exit 1; }; " ..
        "if v=$(rpm -q --qf '%{VERSION}-%{RELEASE}\\n' -- \"$1\" 2>/dev/null); then s=\"install ok installed\t$(echo \"$v\" | head -n 1)\"; " ..
        "else s='unknown ok not-installed\t'; fi; printf 'F\\t%s\\t%s\\t%s\\n' \"$1\" \"$2\" \"$s\""
    end
  end
  local function inspect()
    if #sh == 0 then return {} end
    local r = ezk.exec(table.concat(sh, "\n"), { lib = NAMES_SH, lib_name = "ezk_pkg_names",
      read_only = true })
    if r.rc ~= 0 then return nil, "cannot inspect packages: " .. trim(r.stderr) end
    local known, frows = {}, {}
    for _, l in ipairs(lines(r.stdout)) do
      local t = {}
      for w in (l .. "\t"):gmatch("([^\t]*)\t") do t[#t + 1] = w end
      if t[1] == "Q" and #t >= 5 then known[#known + 1] = t
      elseif t[1] == "F" then frows[#frows + 1] = t end
    end
    if #frows ~= #remote then return nil, "cannot inspect packages: " .. r.stdout end
    -- a row per name, as {N, status, version}: the package the database
    -- has under that name (an installed one first: several architectures)
    local rows = {}
    for i, n in ipairs(names) do
      local base = n:gsub("=.*$", "")
      local row = { "N", "unknown ok not-installed", "" }
      for _, k in ipairs(known) do
        if k[2] == base or k[3] == base then
          if row[3] == "" and row[2]:match(" not%-installed$") or k[4]:match(" installed$") then
            row = { "N", k[4], k[5] }
          end
          if k[4]:match(" installed$") then break end
        end
      end
      rows[i] = row
    end
    for _, t in ipairs(frows) do rows[#rows + 1] = t end
    return rows
  end
  local rows, err = inspect()
  if not rows then return { failed = true, msg = err } end

  -- decide
  local todo, labels = {}, {}
  local function installed(status) return status:match(" installed$") ~= nil end
  local function gone(status) return status:match(" not%-installed$") or (not a.purge and status:match(" config%-files$")) end
  for i, n in ipairs(names) do
    local st, ver = rows[i][2], rows[i][3]
    local pin = n:match("=(.+)$")
    local base = n:gsub("=.*$", "")
    if absent then
      if not gone(st) then todo[#todo + 1] = base; labels[#labels + 1] = base .. " " .. ver end
    elseif not installed(st) or (pin and ver ~= pin) then
      todo[#todo + 1] = n; labels[#labels + 1] = n
    end
  end
  for j, f in ipairs(remote) do
    local row = rows[#names + j]
    local pkg, ver, st, have = row[2], row[3], row[4], row[5]
    if not installed(st) or have ~= ver then
      todo[#todo + 1] = f; labels[#labels + 1] = pkg .. " " .. ver .. " (" .. f:match("([^/]+)$") .. ")"
    end
  end
  for _, u in ipairs(unknown) do labels[#labels + 1] = u .. " (not on the host yet)" end
  if #todo == 0 and #unknown == 0 then return { changed = false } end

  local verb = absent and (a.purge and "purge" or "remove") or "install"
  local res = { changed = true, msg = (ctx.check and "would " or "") .. verb .. " " .. table.concat(labels, ", ") ..
                (a.repo and (" from " .. tostring(a.repo)) or "") }
  if ctx.diff then
    local t = table.concat(labels, "\n") .. "\n"
    res.diff = text_diff(absent and t or "", absent and "" or t, "packages")
  end
  if ctx.check then return res end

  local cmd
  local qs = {}
  for _, t in ipairs(todo) do qs[#qs + 1] = q(t) end
  local args = table.concat(qs, " ")
  if apt then
    local opts = "-y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
    if absent then
      cmd = "apt-get " .. (a.purge and "purge " or "remove ") .. opts .. " -- " .. args
    else
      cmd = (a.update_cache and "apt-get update -q && " or "") .. "apt-get install " .. opts .. " -- " .. args
    end
    if a.repo then
      -- the deploy node's directory as the host's only source, in a directory of
      -- its own (index, source list and lists): the host's apt state is untouched
      local src = role_file(tostring(a.repo)):gsub("/+$", "")
      local dir = CACHE .. src:match("([^/]+)$") .. "/"
      local debs = {}
      for _, n in ipairs(ezk.list_local(src) or {}) do
        if n:match("%.deb$") then debs[#debs + 1] = n end
      end
      if #debs == 0 then return { failed = true, msg = src .. " holds no .deb files" } end
      table.sort(debs)
      for _, n in ipairs(debs) do
        local ok, uerr = ezk.upload { dest = dir .. n, src = src .. "/" .. n, mode = "0644", mkdir = true }
        if ok == nil then return { failed = true, msg = uerr } end
      end
      local qd = q(dir)
      local o = " -o Dir::Etc::SourceList=" .. q(dir .. ".ezk/sources.list") ..
        " -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=" .. q(dir .. ".ezk/lists") ..
        " -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root "
      local qs2 = {}
      for _, n in ipairs(debs) do qs2[#qs2 + 1] = q(n) end
      cmd = "cd " .. qd .. " && mkdir -p .ezk/lists/partial && " ..
        "for f in " .. table.concat(qs2, " ") .. "; do dpkg-deb -f \"$f\" && printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' \"$f\" \"$(stat -c %s \"$f\")\" \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" || exit 1; done > .ezk/Packages.new && " ..
        "mv .ezk/Packages.new Packages && echo " .. q("deb [trusted=yes] file:" .. dir .. " ./") .. " > .ezk/sources.list && " ..
        "apt-get" .. o .. "-q update && apt-get install" .. o .. opts .. " -- " .. args
    end
    cmd = "export DEBIAN_FRONTEND=noninteractive; " .. cmd
  else
    if absent then cmd = pm .. " remove -y -- " .. args
    else cmd = (a.update_cache and (pm .. " makecache -q && ") or "") .. pm .. " install -y -- " .. args end
  end
  local r = ezk.exec(cmd .. " 2>&1")
  if r.rc ~= 0 then return { failed = true, msg = verb .. " failed (exit " .. r.rc .. "):\n" .. tail_msg(r.stdout, 8) } end
  -- it took?
  local rows2, err2 = inspect()
  if not rows2 then return { failed = true, msg = err2 } end
  for i, n in ipairs(names) do
    local st = rows2[i][2]
    if absent and not gone(st) then return { failed = true, msg = n .. " is still installed after " .. verb } end
    if not absent and not installed(st) then return { failed = true, msg = n .. " is not installed after " .. verb .. ": " .. st } end
  end
  for j in ipairs(remote) do
    local row = rows2[#names + j]
    if not installed(row[4]) or row[5] ~= row[3] then
      return { failed = true, msg = row[2] .. " " .. row[3] .. " is not installed after " .. verb .. " (have: " .. row[5] .. ")" }
    end
  end
  return res
end, { title = function(a) -- a list of names or package files: the task is called after all of them
  if type(a.name) ~= "table" and a.name ~= nil then return nil end
  local t = {}
  for _, n in ipairs(type(a.name) == "table" and a.name or {}) do t[#t + 1] = tostring(n) end
  if a.repo then return "package " .. table.concat(t, ",") .. " from " .. tostring(a.repo):match("([^/]+)/*$") end
  for _, k in ipairs({ "deb", "rpm" }) do
    local v = a[k]
    for _, f in ipairs(type(v) == "table" and v or { v }) do t[#t + 1] = tostring(f):match("([^/]+)$") end
  end
  return "package " .. table.concat(t, ",")
end })
