-- swap: swap off now and at boot, as Kubernetes nodes want it.
--
--   swap { state = "off" }
--
-- Options:
--   state   "off" (the default and the only state): `swapoff -a` when
--           /proc/swaps lists any active swap, and every active swap line of
--           fstab commented out ("#" prepended; comments and other lines
--           untouched), so that the next boot does not turn it back on.
--   fstab   path (default "/etc/fstab"), written with ezk.upload (atomic;
--           mode and owner kept).
--
-- A swap line is one whose third field (the type) is "swap". Round trips:
-- one to inspect (/proc/swaps and fstab together); when something differs,
-- one for swapoff and the upload of fstab. Under --diff: fstab's unified
-- diff and the active swap areas as "/proc/swaps (live)".
-- Note: /proc/swaps is the kernel's, not a namespace's: on a container-like
-- host swapoff acts on the whole machine.

local q, trim, lines, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.text_diff

local END = "\1EZK-END\1\n"

-- ezk_swap_read FSTAB: /proc/swaps' lines after its header (read by the
-- shell itself), an end mark, then F and fstab's text, or N: one process
-- (cat). (Defined once per session, run by the resident shell itself:
-- locals and return only.)
local READ_SH = [[
ezk_swap_read() {
  local l= h=
  if [ -r /proc/swaps ]; then
    while IFS= read -r l || [ -n "$l" ]; do
      if [ -n "$h" ]; then printf '%s\n' "$l"; else h=1; fi
    done </proc/swaps
  fi
  printf '\1EZK-END\1\n'
  if [ -f "$1" ]; then echo F; cat -- "$1"; else echo N; fi
  return 0
}
]]

local function comment_swaps(text)
  local out, n = {}, 0
  for _, l in ipairs(lines(text)) do
    local f1, _, f3 = l:match("^%s*(%S+)%s+(%S+)%s+(%S+)")
    if f1 and f1:sub(1, 1) ~= "#" and f3 == "swap" then
      out[#out + 1] = "#" .. l
      n = n + 1
    else
      out[#out + 1] = l
    end
  end
  if n == 0 then return text, 0 end
  return table.concat(out, "\n") .. "\n", n
end

ezk.module("swap", function(a, ctx)
  local state = a.state or "off"
  if state ~= "off" then return { failed = true, msg = "state must be off, not " .. tostring(state) } end
  local fstab = a.fstab or "/etc/fstab"
  local r = ezk.exec("ezk_swap_read " .. q(fstab), { lib = READ_SH, lib_name = "ezk_swap_read", read_only = true })
  if r.rc ~= 0 then return { failed = true, msg = "inspect: " .. trim(r.stderr) } end
  local e = r.stdout:find(END, 1, true)
  if not e then return { failed = true, msg = "inspect: unexpected output" } end
  local active = r.stdout:sub(1, e - 1)
  local rest = r.stdout:sub(e + #END)
  local old = rest:sub(1, 2) == "F\n" and rest:sub(3) or nil
  local new, n = comment_swaps(old or "")
  local swaps = {}
  for _, l in ipairs(lines(active)) do
    local dev = l:match("^(%S+)")
    if dev then swaps[#swaps + 1] = dev end
  end
  if #swaps == 0 and n == 0 then return { changed = false } end

  local res = { changed = true }
  if ctx.diff then
    local d = n > 0 and text_diff(old, new, fstab) or ""
    if #swaps > 0 then d = d .. text_diff(table.concat(swaps, "\n") .. "\n", "", "/proc/swaps (live)") end
    res.diff = d
  end
  if ctx.check then return res end
  if #swaps > 0 then
    local s = ezk.exec("swapoff -a 2>&1 || PATH=$PATH:/sbin:/usr/sbin swapoff -a 2>&1; " ..
      "rc=$?; tail -n +2 /proc/swaps; exit $rc")
    if s.rc ~= 0 then return { failed = true, msg = "swapoff -a failed: " .. trim(s.stdout) } end
    if trim(s.stdout) ~= "" then
      return { failed = true, msg = "swap still active after swapoff -a: " .. trim(s.stdout) }
    end
  end
  if n > 0 then
    local ok, err = ezk.upload { dest = fstab, content = new }
    if ok == nil then return { failed = true, msg = err } end
  end
  return res
end)
