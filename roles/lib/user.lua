-- user and group: local accounts (useradd/usermod/userdel,
-- groupadd/groupmod/groupdel), changed only where they differ.
--
--   group { name = "etcd", system = true }
--   user { name = "etcd", group = "etcd", system = true, home = "/var/lib/etcd",
--          shell = "/usr/sbin/nologin", create_home = false }
--
-- user options:
--   name         string (required)
--   uid          number
--   group        primary group, a name or a gid (must exist)
--   groups       list or "a,b" string: supplementary groups (must exist);
--                the exact set ({} or "" removes them all) unless append
--   append       true: groups are added to the user's, none removed
--   home         path (an existing user's home is changed, not moved)
--   shell        path
--   comment      the GECOS field
--   system       true: a system account (useradd -r); only at creation
--   create_home  default true: useradd -m at creation
--   state        "present" (default) | "absent" (userdel)
--   remove       with state=absent: also the home and mail spool (userdel -r)
-- group options:
--   name, gid, system (groupadd -r, at creation), state = "present" | "absent"
--
-- Unset options are left as they are. Round trips: one to inspect (getent),
-- one to act when something differs. Under --check nothing is run but the
-- inspection; under --diff the account's fields before and after.

local q, trim, lines, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.text_diff

local function valid(n)
  return type(n) == "string" and n:match("^[%a_][%w_%.%-]*%$?$") ~= nil and #n <= 32
end

local function split_groups(g)
  local t = {}
  if type(g) == "table" then
    for _, x in ipairs(g) do t[#t + 1] = tostring(x) end
  elseif g ~= nil then
    for x in tostring(g):gmatch("[^,%s]+") do t[#t + 1] = x end
  end
  return t
end

local function fields(t, order)
  local out = {}
  for _, k in ipairs(order) do
    if t[k] ~= nil then out[#out + 1] = k .. ": " .. tostring(t[k]) end
  end
  return #out > 0 and (table.concat(out, "\n") .. "\n") or ""
end

local function act(cmd)
  local r = ezk.exec("PATH=$PATH:/usr/sbin:/sbin; " .. cmd .. " 2>&1")
  if r.rc ~= 0 then return trim(r.stdout) ~= "" and trim(r.stdout) or ("exit " .. r.rc) end
  return nil
end

local ORDER = { "uid", "group", "groups", "home", "shell", "comment" }

ezk.module("user", function(a, ctx)
  if not valid(a.name) then return { failed = true, msg = "bad or missing user name: " .. tostring(a.name) } end
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end
  local r = ezk.exec("p=$(getent passwd -- " .. q(a.name) .. ") || { echo none; exit 0; }\n" ..
    "printf '%s\\n' \"$p\"\n" ..
    "gid=$(printf %s \"$p\" | cut -d: -f4); g=$(getent group \"$gid\" | cut -d: -f1); echo \"${g:-$gid}\"\n" ..
    "getent group | awk -F: -v u=" .. q(a.name) .. " '{n=split($4,m,\",\"); for(i=1;i<=n;i++) if(m[i]==u) print $1}' | sort | paste -sd, -")
  if r.rc ~= 0 then return { failed = true, msg = "getent: " .. trim(r.stderr) } end
  local ls = lines(r.stdout)
  local cur
  if ls[1] ~= "none" then
    local f = {}
    for x in (ls[1] .. ":"):gmatch("([^:]*):") do f[#f + 1] = x end
    cur = { uid = f[3], gid = f[4], comment = f[5], home = f[6], shell = f[7], group = ls[2] or "", groups = ls[3] or "" }
  end

  if absent then
    if not cur then return { changed = false } end
    local res = { changed = true }
    if ctx.diff then res.diff = text_diff(fields(cur, ORDER), "", "user " .. a.name) end
    if ctx.check then return res end
    local e = act("userdel " .. (a.remove and "-r " or "") .. "-- " .. q(a.name))
    if e then return { failed = true, msg = "userdel " .. a.name .. ": " .. e } end
    return res
  end

  local want_groups = a.groups ~= nil and split_groups(a.groups) or nil
  local opts, diff_b, diff_a = {}, {}, {}
  local function differ(k, have, want, opt)
    diff_b[k], diff_a[k] = have, want
    opts[#opts + 1] = opt .. " " .. q(want)
  end
  if not cur then
    if a.uid then differ("uid", nil, tostring(a.uid), "-u") end
    if a.group then differ("group", nil, tostring(a.group), "-g") end
    if want_groups and #want_groups > 0 then differ("groups", nil, table.concat(want_groups, ","), "-G") end
    if a.home then differ("home", nil, a.home, "-d") end
    if a.shell then differ("shell", nil, a.shell, "-s") end
    if a.comment then differ("comment", nil, a.comment, "-c") end
    if a.system then opts[#opts + 1] = "-r" end
    opts[#opts + 1] = a.create_home == false and "-M" or "-m"
  else
    if a.uid and tostring(a.uid) ~= cur.uid then differ("uid", cur.uid, tostring(a.uid), "-u") end
    if a.group and tostring(a.group) ~= cur.group and tostring(a.group) ~= cur.gid then
      differ("group", cur.group, tostring(a.group), "-g")
    end
    if want_groups then
      local have = {}
      for x in cur.groups:gmatch("[^,]+") do have[x] = true end
      local missing, set = false, {}
      for _, x in ipairs(want_groups) do
        set[x] = true
        if not have[x] then missing = true end
      end
      local extra = false
      if not a.append then for x in pairs(have) do if not set[x] then extra = true end end end
      if missing or extra then
        local w = {}
        if a.append then for x in pairs(have) do w[#w + 1] = x end end
        for _, x in ipairs(want_groups) do if not have[x] or not a.append then w[#w + 1] = x end end
        table.sort(w)
        diff_b.groups, diff_a.groups = cur.groups, table.concat(w, ",")
        opts[#opts + 1] = (a.append and "-a -G " or "-G ") .. q(table.concat(a.append and want_groups or w, ","))
      end
    end
    if a.home and a.home ~= cur.home then differ("home", cur.home, a.home, "-d") end
    if a.shell and a.shell ~= cur.shell then differ("shell", cur.shell, a.shell, "-s") end
    if a.comment and a.comment ~= cur.comment then differ("comment", cur.comment, a.comment, "-c") end
    if #opts == 0 then return { changed = false } end
  end
  local res = { changed = true, msg = (ctx.check and "would " or "") .. (cur and "modify" or "add") .. " user " .. a.name }
  if ctx.diff then
    res.diff = text_diff(cur and fields(diff_b, ORDER) or "", fields(diff_a, ORDER), "user " .. a.name)
  end
  if ctx.check then return res end
  local e = act((cur and "usermod " or "useradd ") .. table.concat(opts, " ") .. " -- " .. q(a.name))
  if e then return { failed = true, msg = (cur and "usermod " or "useradd ") .. a.name .. ": " .. e } end
  return res
end)

ezk.module("group", function(a, ctx)
  if not valid(a.name) then return { failed = true, msg = "bad or missing group name: " .. tostring(a.name) } end
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end
  local r = ezk.exec("getent group -- " .. q(a.name) .. " | cut -d: -f3")
  local gid = trim(r.stdout)
  local exists = gid ~= ""
  local cmd, before, after
  if absent then
    if not exists then return { changed = false } end
    cmd, before, after = "groupdel -- " .. q(a.name), "gid: " .. gid .. "\n", ""
  elseif not exists then
    cmd = "groupadd " .. (a.gid and ("-g " .. q(a.gid) .. " ") or "") .. (a.system and "-r " or "") .. "-- " .. q(a.name)
    before, after = "", "gid: " .. (a.gid and tostring(a.gid) or "(new)") .. "\n"
  elseif a.gid and tostring(a.gid) ~= gid then
    cmd, before, after = "groupmod -g " .. q(a.gid) .. " -- " .. q(a.name), "gid: " .. gid .. "\n", "gid: " .. tostring(a.gid) .. "\n"
  else
    return { changed = false }
  end
  local res = { changed = true }
  if ctx.diff then res.diff = text_diff(before, after, "group " .. a.name) end
  if ctx.check then return res end
  local e = act(cmd)
  if e then return { failed = true, msg = cmd:match("^%S+") .. " " .. a.name .. ": " .. e } end
  return res
end)
