-- file: a path's kind, mode and owner, as Ansible's file module.
--   file { path = "/etc/demo", state = "directory" | "absent" | "link" |
--          "touch" | "file", src = "target" (link), mode = "0755",
--          owner = "root", group = "root", force = false }
-- path (alias dest, name): an absolute path on the host.
-- state:
--   directory  mkdir -p (parents too), then mode/owner/group of the directory
--              (a link to a directory counts as one); anything else there fails.
--   absent     rm -rf; refuses "/" and paths with "." or ".." components.
--   link       a symbolic link to src (taken as is: a relative src is
--              relative to the link's directory), replaced atomically only if
--              it points elsewhere. A file or an empty directory in the way, or
--              a src that does not exist, fails unless force = true; a
--              non-empty directory always fails. owner/group apply to the link
--              itself; mode is not applied to links.
--   touch      create an empty file if nothing is there, then mode/owner/
--              group. Unlike Ansible, touching an existing path changes
--              nothing (no timestamp update), so a second run is "ok".
--   file       mode/owner/group of an existing file; a missing path fails,
--              a directory fails.
--   (none)     mode/owner/group of whatever exists there; missing fails.
-- mode: octal ("0644", "644" or a number such as 420). Symbolic modes
-- (u+x) are not supported. A numeric mode is exact: set-id bits not in it
-- are cleared, on directories too.
-- recurse is not supported (the task fails if it is set).
-- One round trip: a script inspects the path (its stat from the resident
-- shell's stat cache when it holds it: no process) and, unless under --check,
-- changes it, and reports what it found and what it did. The script is
-- shell functions the resident shell defines once per session and runs
-- itself (no subshell: a process less a task), so they use locals and
-- return, never exit. A directory or a link with no owner or group asked,
-- found as it should be or missing (its parent there) and made, is seen to
-- through the host's SFTP server instead (ezk.fs, sftp_quick below: no
-- process at all, a few round trips).

local q, trim, mode_str = ezk.q, ezk.trim, ezk.mode_str

local SCRIPT = [[
# a change, or a failure in the middle of one, drops the stat cache
ezk_f_die() { ezk_sc_v=; echo "$*" >&2; return 10; }
ezk_f_ch() { ezk_sc_v=; echo "C $*"; }
# ezk_f_attrs NEW: mode/owner/group of $p (ezk_file's locals); NEW=1 when it
# was (or would be) made now, 2 when made with its mode (mkdir -m)
ezk_f_attrs() {
  local new L H cm
  new=${1:-}; L=-L; H=
  [ "$st" = link ] && { L=; H=-h; }
  if [ -n "$new" ] && [ -n "$dry" ]; then
    [ -n "$m" ] && ezk_f_ch "mode $m"; [ -n "$o" ] && ezk_f_ch "owner $o"; [ -n "$g" ] && ezk_f_ch "group $g"
    return 0
  fi
  if [ -n "$m" ] && [ "$st" != link ] && [ "$new" = 2 ]; then
    # made by mkdir -m: its permission bits are m's; a set-id or sticky
    # bit it did not ask for (a setgid parent's, inherited) is cleared
    cm=0
    [ -u "$p" ] && cm=$((cm + 4)); [ -g "$p" ] && cm=$((cm + 2)); [ -k "$p" ] && cm=$((cm + 1))
    case $m in ????) [ "$cm" = "${m%???}" ] ;; *) [ "$cm" = 0 ] ;; esac ||
      chmod "$mc" -- "$p" || { ezk_f_die "cannot chmod $p"; return; }
  elif [ -n "$m" ] && [ "$st" != link ]; then
    if [ -z "$new" ] && [ -n "$bm" ]; then cm=$bm; else cm=$(stat $L -c %a -- "$p") || return 11; fi
    if [ "$cm" != "$m" ]; then
      [ -n "$dry" ] || chmod "$mc" -- "$p" || { ezk_f_die "cannot chmod $p"; return; }
      [ -n "$new" ] || ezk_f_ch "mode $cm -> $m"
    fi
  fi
  if [ -n "$o" ]; then
    if [ -z "$new" ] && [ -n "$bU" ]; then set -- "$bU" "$bu"; else set -- $(stat $L -c '%U %u' -- "$p") || return 11; fi
    if [ "$1" != "$o" ] && [ "$2" != "$o" ]; then
      [ -n "$dry" ] || chown $H -- "$o" "$p" || { ezk_f_die "cannot chown $p to $o"; return; }
      ezk_f_ch "owner $1 -> $o"
    fi
  fi
  if [ -n "$g" ]; then
    if [ -z "$new" ] && [ -n "$bG" ]; then set -- "$bG" "$bg"; else set -- $(stat $L -c '%G %g' -- "$p") || return 11; fi
    if [ "$1" != "$g" ] && [ "$2" != "$g" ]; then
      [ -n "$dry" ] || chgrp $H -- "$g" "$p" || { ezk_f_die "cannot chgrp $p to $g"; return; }
      ezk_f_ch "group $1 -> $g"
    fi
  fi
}
ezk_file() {
  local p="$1" st="$2" m="$3" mc="$4" o="$5" g="$6" src="$7" force="$8" dry="$9"
  local t bm bu bU bg bG rl tmp s
if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory
elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=absent; fi
# one stat: attrs reuses its fields unless the path is made now
bm= bu= bU= bg= bG= rl=
if [ "$t" = link ]; then
  # the target with the attributes, in one stat ("P -> TARGET" literally;
  # an older stat quotes %N its own way: then stat and readlink)
  s=$(QUOTING_STYLE=literal stat -c '%a|%U|%u|%G|%g|%N' -- "$p")
  case $s in
  *"|$p -> "*) rl=${s#*"|$p -> "}; s=${s%%"|$p -> "*} ;;
  *) s=$(stat -c '%a|%U|%u|%G|%g' -- "$p"); rl=$(readlink -- "$p") ;;
  esac
  IFS='|' read -r bm bU bu bG bg <<EOS
$s
EOS
  echo "B link|$bm|$bU|$bG|$rl"
  [ "$st" = link ] || { bm= bU= bG=; }
elif [ "$t" != absent ]; then
  # from the stat cache when it holds the path (no process)
  if ezk_sc_get "$p" && [ "$ezk_sk" = "$t" ]; then
    set -- $ezk_sv; bm=$2 bU=$3 bu=$4 bG=$5 bg=$6
  else
    IFS='|' read -r bm bU bu bG bg <<EOS
$(stat -L -c '%a|%U|%u|%G|%g' -- "$p")
EOS
  fi
  echo "B $t|$bm|$bU|$bG|"
else echo "B absent"; fi
case $st in
directory)
  case $t in
  directory) { ezk_f_attrs || return; } ;;
  link) [ -d "$p" ] || { ezk_f_die "$p is a link, not a directory"; return; }; { ezk_f_attrs || return; } ;;
  absent)
    # with its mode at once (mkdir -m: no stat and chmod after it)
    if [ -z "$dry" ]; then
      if [ -n "$m" ]; then mkdir -p -m "$m" -- "$p"; else mkdir -p -- "$p"; fi ||
        { ezk_f_die "cannot create directory $p"; return; }
    fi
    ezk_f_ch "directory created"
    if [ -n "$m" ]; then ezk_f_attrs 2 || return; else ezk_f_attrs 1 || return; fi ;;
  *) { ezk_f_die "$p exists and is not a directory"; return; } ;;
  esac ;;
absent)
  if [ "$t" != absent ]; then
    [ -n "$dry" ] || rm -rf -- "$p" || { ezk_f_die "cannot remove $p"; return; }
    ezk_f_ch "$t removed"
  fi ;;
touch)
  if [ "$t" = absent ]; then
    if [ -n "$dry" ]; then [ -d "${p%/*}/" ] || { ezk_f_die "no such directory: ${p%/*}"; return; }
    else : >>"$p" || { ezk_f_die "cannot create $p"; return; }; fi
    ezk_f_ch "file created"; { ezk_f_attrs 1 || return; }
  else
    { ezk_f_attrs || return; }
  fi ;;
file|any)
  [ "$t" = absent ] && { ezk_f_die "$p does not exist"; return; }
  [ "$st" = file ] && [ -d "$p" ] && { ezk_f_die "$p is a directory"; return; }
  { ezk_f_attrs || return; } ;;
link)
  if [ "$t" = link ] && [ "$rl" = "$src" ]; then ezk_f_attrs || return; return 0; fi
  case $t in
  absent|link) ;;
  directory)
    [ -n "$force" ] || { ezk_f_die "$p is a directory (force=true replaces an empty one with the link)"; return; }
    [ -z "$(ls -A -- "$p")" ] || { ezk_f_die "$p is a directory and not empty: not replaced by a link"; return; } ;;
  *) [ -n "$force" ] || { ezk_f_die "$p exists and is not a link (force=true replaces it)"; return; } ;;
  esac
  if [ -z "$force" ]; then
    case $src in /*) s=$src ;; *) s=${p%/*}/$src ;; esac
    [ -e "$s" ] || { ezk_f_die "link target $src does not exist (force=true links anyway)"; return; }
  fi
  if [ -z "$dry" ]; then
    tmp="${p%/*}/.${p##*/}.ezk-tmp.$$"
    ln -sfn -- "$src" "$tmp" || { ezk_f_die "cannot make the link $p"; return; }
    if [ "$t" = directory ]; then rmdir -- "$p" || { rm -f -- "$tmp"; { ezk_f_die "cannot remove the directory $p"; return; }; }; fi
    mv -Tf -- "$tmp" "$p" || { rm -f -- "$tmp"; { ezk_f_die "cannot make the link $p"; return; }; }
  fi
  ezk_f_ch "link -> $src"; { ezk_f_attrs 1 || return; } ;;
esac
return 0
}
]]

local STATES = { directory = true, absent = true, link = true, touch = true, file = true }

local function attr_text(x)
  if x.state == "absent" then return "path: " .. x.path .. "\nstate: absent\n" end
  local out = { "path: " .. x.path, "state: " .. x.state }
  if x.target then out[#out + 1] = "src: " .. x.target end
  if x.mode and x.state ~= "link" then out[#out + 1] = "mode: " .. x.mode end
  if x.owner then out[#out + 1] = "owner: " .. x.owner end
  if x.group then out[#out + 1] = "group: " .. x.group end
  return table.concat(out, "\n") .. "\n"
end

-- The commonest cases through the host's SFTP server (ezk.fs), no process
-- at all: a directory or a link that is as asked already, or is missing and
-- made now (its parent there), with no owner or group to see to. nil: the
-- script decides (everything else, and whatever SFTP cannot do here).
local function sftp_quick(path, state, mode, a, ctx)
  if (state ~= "directory" and state ~= "link") or a.owner ~= nil or a.group ~= nil or path == "/" then
    return nil
  end
  local parent = path:match("^(.*)/[^/]*$")
  if parent == "" then parent = "/" end
  if state == "directory" then
    local r = ezk.fs({ { "lstat", path }, { "lstat", parent } })
    if not r then return nil end
    if r[1].status == 0 and r[1].kind == "directory" then
      if mode == "" or string.format("%o", r[1].mode) == mode then return { changed = false } end
      return nil
    end
    if r[1].status ~= 2 or r[2].status ~= 0 or r[2].kind ~= "directory" then return nil end
    local before, after = { path = path, state = "absent" }, { path = path, state = "directory" }
    if mode ~= "" then after.mode = mode_str(mode) end
    if ctx.check then return nil end -- (the script says what it would do)
    local res = { changed = true, msg = "directory created",
      diff = { before = attr_text(before), after = attr_text(after), name = path } }
    -- made as mkdir -p makes it (the umask's), then the mode asked for,
    -- exactly (a set-id bit inherited from a setgid parent is cleared)
    local ops = { { "mkdir", path, "777" } }
    if mode ~= "" then ops[2] = { "chmod", path, mode } end
    local w = ezk.fs(ops)
    if not w or w[1].status ~= 0 or (w[2] and w[2].status ~= 0) then return nil end
    return res
  end
  if a.force then return nil end
  local src = tostring(a.src)
  local target = src:sub(1, 1) == "/" and src or ((parent == "/" and "" or parent) .. "/" .. src)
  local r = ezk.fs({ { "readlink", path }, { "lstat", target } })
  if not r then return nil end
  if r[1].status == 0 and r[1].kind == "link" and r[1].target == src then return { changed = false } end
  -- missing, its target there (not a link: [ -e ] follows one)
  if r[1].status ~= 2 or r[2].status ~= 0 or r[2].kind == "link" or ctx.check then return nil end
  local res = { changed = true, msg = "link -> " .. src, diff = { before = attr_text({ path = path, state = "absent" }),
    after = attr_text({ path = path, state = "link", target = src }), name = path } }
  local w = ezk.fs({ { "symlink", path, src } })
  if not w or w[1].status ~= 0 then return nil end
  return res
end

ezk.module("file", function(a, ctx)
  local path = a.path or a.dest or a.name
  if type(path) ~= "string" or path == "" then return { failed = true, msg = "path is required" } end
  if path:sub(1, 1) ~= "/" then return { failed = true, msg = "path must be absolute: " .. path } end
  path = path:gsub("/+", "/")
  if #path > 1 then path = path:gsub("/$", "") end
  local state = a.state
  if state ~= nil and not STATES[state] then
    return { failed = true, msg = "state must be directory, absent, link, touch or file, not " .. tostring(state) }
  end
  if a.recurse then return { failed = true, msg = "recurse is not supported" } end
  if state == "absent" then
    if path == "/" or ("/" .. path .. "/"):find("/%.%.?/") then
      return { failed = true, msg = "refusing to remove " .. path }
    end
  end
  if state == "link" then
    if a.src == nil or tostring(a.src) == "" then return { failed = true, msg = "src is required with state=link" } end
    if path == "/" then return { failed = true, msg = "refusing to replace / with a link" } end
  end
  local mode, mode5 = "", ""
  if a.mode ~= nil then
    local ms = type(a.mode) == "number" and string.format("%o", a.mode) or tostring(a.mode)
    if not ms:match("^[0-7]+$") or #ms > 5 then
      return { failed = true, msg = "mode must be octal (such as \"0644\"), not " .. tostring(a.mode) }
    end
    mode = string.format("%o", tonumber(ms, 8))
    -- five digits: GNU chmod then clears set-id bits of directories too
    mode5 = string.format("%05o", tonumber(ms, 8))
  end
  local quick = sftp_quick(path, state, mode, a, ctx)
  if quick then return quick end
  local call = table.concat({ "ezk_file", q(path), q(state or "any"), q(mode), q(mode5), q(a.owner or ""),
    q(a.group or ""), q(a.src or ""), q(a.force and "1" or ""), q(ctx.check and "1" or "") }, " ")
  local r = ezk.exec(call, { lib = SCRIPT, lib_name = "ezk_file", stat_path = path })
  if r.rc ~= 0 then
    local e = trim(r.stderr)
    return { failed = true, msg = e ~= "" and e or ("exit " .. r.rc) }
  end
  local before = { path = path, state = "absent" }
  local b = r.stdout:match("^B ([^\n]*)")
  if b and b ~= "absent" then
    local k, bm, bo, bg, target = b:match("^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$")
    before = { path = path, state = k, mode = mode_str(bm), owner = bo, group = bg,
      target = k == "link" and target or nil }
  end
  local changes = {}
  for c in r.stdout:gmatch("\nC ([^\n]*)") do changes[#changes + 1] = c end
  if #changes == 0 then return { changed = false } end
  local after = { path = path, state = state == "touch" and (before.state == "absent" and "file" or before.state)
    or state or before.state }
  if after.state ~= "absent" then
    for _, k in ipairs { "mode", "owner", "group", "target" } do after[k] = before[k] end
    if state ~= nil and state ~= before.state then after.mode, after.target = nil, nil end
    if mode ~= "" then after.mode = mode_str(mode) end
    if a.owner then after.owner = a.owner end
    if a.group then after.group = a.group end
    if state == "link" then after.target = tostring(a.src); after.mode = nil end
  end
  return { changed = true, msg = table.concat(changes, ", "),
    diff = { before = attr_text(before), after = attr_text(after), name = path } }
end)
