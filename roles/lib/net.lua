-- net.lua: IPv4 addresses and prefixes, for the roles' derived settings.
--
--   ezk.cidr_host("198.19.0.0/16", 1)  -> "198.19.0.1"   (the first Service IP)
--   ezk.cidr_host("198.19.0.0/16", 2)  -> "198.19.0.2"   (the DNS Service IP)
--   ezk.cidr_parse("198.19.0.0/16")    -> 3323133952, 16  (or nil, message)

function ezk.cidr_parse(cidr)
  local a, b, c, d, len = tostring(cidr):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then return nil, "'" .. tostring(cidr) .. "' is not an IPv4 prefix (a.b.c.d/n)" end
  local n = 0
  for _, o in ipairs({ a, b, c, d }) do
    o = tonumber(o)
    if o > 255 then return nil, "'" .. cidr .. "': " .. o .. " is not an octet" end
    n = n * 256 + o
  end
  len = tonumber(len)
  if len > 32 then return nil, "'" .. cidr .. "': prefix length above 32" end
  local size = 1 << (32 - len)
  return n - n % size, len
end

function ezk.ip_str(n)
  return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

-- the n-th address of a prefix (error when out of it)
function ezk.cidr_host(cidr, n)
  local base, len = ezk.cidr_parse(cidr)
  if not base then error(len, 2) end
  if n >= (1 << (32 - len)) then error(cidr .. " has no address number " .. n, 2) end
  return ezk.ip_str(base + n)
end
