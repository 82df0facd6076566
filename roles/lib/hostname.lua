-- hostname: the host's name, now and at boot.
--
--   hostname { name = "k8s-master-1" }
--
-- Options:
--   name   string (required): letters, digits, "-" and "." (at most 64
--          characters, as the kernel allows).
--
-- Both the live name (the kernel's, `hostname`) and /etc/hostname must say
-- name; either one differing is a change. With systemd running and
-- hostnamectl installed, `hostnamectl set-hostname` sets both (and tells
-- systemd-hostnamed); otherwise, or if that did not take, /etc/hostname is
-- written (beside and renamed; in place if that fails, as when it is a bind
-- mount) and `hostname NAME` sets the kernel's. /etc/hosts is not touched
-- (see hosts_block). One round trip to look (no process on the host: the
-- shell reads both names); when one differs, one more (not under --check)
-- that acts and reports. Under --diff: /etc/hostname's diff and the live
-- name.

local q, trim, text_diff = ezk.q, ezk.trim, ezk.text_diff

-- ezk_hostname_read NAME: "live=<the kernel's name>", then "same" when
-- both it and /etc/hostname (exactly NAME and a newline) say NAME, else
-- /etc/hostname's text and an end mark. (Defined once per session, run by
-- the resident shell itself: locals and return only.)
local READ_SH = [=[
ezk_hostname_read() {
  local n="$1" live= file= l= nonl=
  IFS= read -r live </proc/sys/kernel/hostname || live=$(hostname 2>/dev/null)
  if [ -f /etc/hostname ]; then
    while IFS= read -r l || { [ -n "$l" ] && nonl=1; }; do file="$file$l
"; done </etc/hostname
    [ -z "$nonl" ] || file=${file%?}
  fi
  printf 'live=%s\n' "$live"
  if [ "$live" = "$n" ] && [ "$file" = "$n
" ]; then echo same; return 0; fi
  printf '%s' "$file"; printf '\001EZK-END\001\n'
  return 0
}
]=]

ezk.module("hostname", function(a, ctx)
  local n = a.name
  if type(n) ~= "string" or #n > 64 or not n:match("^[%w][%w%-%.]*$") then
    return { failed = true, msg = "name must be letters, digits, '-' and '.' (at most 64), not " .. tostring(n) }
  end
  -- the look (no process: the shell reads both), then, when the name
  -- differs and not under check, the change (which looks again)
  local r = ezk.exec("ezk_hostname_read " .. q(n), { lib = READ_SH, lib_name = "ezk_hostname_read",
    read_only = true })
  if r.rc ~= 0 then return { failed = true, msg = "hostname " .. n .. ": " .. trim(r.stderr ~= "" and r.stderr or r.stdout) } end
  if r.stdout:match("\nsame\n$") then return { changed = false } end
  if not ctx.check then r = ezk.exec([=[
n=$EZK_NAME
live=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
if [ -f /etc/hostname ]; then file=$(cat /etc/hostname; echo x); file=${file%x}; else file=; fi
printf 'live=%s\n' "$live"
[ "$live" = "$n" ] && [ "$file" = "$n
" ] && { echo same; exit 0; }
printf '%s' "$file"; printf '\001EZK-END\001\n'
[ "$EZK_CHECK" = 1 ] && exit 0
if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then
  timeout 20 hostnamectl set-hostname "$n" 2>&1
fi
if [ "$(cat /etc/hostname 2>/dev/null)" != "$n" ]; then
  printf '%s\n' "$n" > /etc/.hostname.ezk-tmp && chmod 644 /etc/.hostname.ezk-tmp &&
    mv -f /etc/.hostname.ezk-tmp /etc/hostname 2>/dev/null ||
    { rm -f /etc/.hostname.ezk-tmp; printf '%s\n' "$n" > /etc/hostname; } || exit 1
fi
if [ "$(hostname 2>/dev/null)" != "$n" ]; then
  hostname "$n" 2>/dev/null || PATH=$PATH:/bin:/usr/bin hostname "$n" || printf '%s' "$n" > /proc/sys/kernel/hostname || exit 1
fi
[ "$(hostname)" = "$n" ] || { echo "the kernel's host name is still $(hostname)" >&2; exit 1; }
echo done
]=], { env = { EZK_NAME = n, EZK_CHECK = "0" } }) end
  if r.rc ~= 0 then return { failed = true, msg = "hostname " .. n .. ": " .. trim(r.stderr ~= "" and r.stderr or r.stdout) } end
  local live = r.stdout:match("^live=([^\n]*)\n")
  if r.stdout:match("\nsame\n$") then return { changed = false } end
  local res = { changed = true }
  if ctx.diff then
    local old = r.stdout:match("^live=[^\n]*\n(.-)\1EZK%-END\1\n") or ""
    res.diff = text_diff(old, n .. "\n", "/etc/hostname") ..
      ((live ~= n) and text_diff((live or "") .. "\n", n .. "\n", "hostname (live)") or "")
  end
  return res
end)
