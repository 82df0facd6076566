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
-- (see hosts_block). One round trip: a sh script inspects, decides, acts
-- (not under --check) and reports. Under --diff: /etc/hostname's diff and
-- the live name.

local trim, text_diff = ezk.trim, ezk.text_diff

ezk.module("hostname", function(a, ctx)
  local n = a.name
  if type(n) ~= "string" or #n > 64 or not n:match("^[%w][%w%-%.]*$") then
    return { failed = true, msg = "name must be letters, digits, '-' and '.' (at most 64), not " .. tostring(n) }
  end
  local r = ezk.exec([=[
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
]=], { env = { EZK_NAME = n, EZK_CHECK = ctx.check and "1" or "0" } })
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
