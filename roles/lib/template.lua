-- template: render a Jinja template of the role and write it to the host.
--   template { src = "demo.conf.j2", dest = "/etc/demo.conf", mode = "0644",
--              owner = "root", group = "root", vars = { extra = 1 }, mkdir = true }
-- src: relative to the role's templates/ folder (then the role's folder), or
--   an absolute path on the deploy node.
-- The template sees the host's variables (vars.*: role defaults < inventory
-- < config.yml < -e) and, above them, the vars table. ezk's Jinja subset is
-- described in core/tmpl/template.h; blocks are trimmed as Ansible's template
-- module does (trim_blocks). A template error fails the task with the
-- template's file:line.
-- Then as copy with content: nothing is sent when the host's file has the
-- same sha256; otherwise a temporary file is renamed over dest. mode/owner/
-- group are fixed also when the content is right. mkdir (default true):
-- create dest's directory.
-- backup, validate and force=false are not supported (the task fails).

local mode_str = ezk.mode_str

-- the source's path and text (nil and a message if missing)
local function load(src)
  if src:sub(1, 1) == "/" then return src, ezk.read_local(src) end
  local p = ezk.role_dir .. "/templates/" .. src
  local text, err = ezk.read_local(p)
  if text then return p, text end
  local p2 = ezk.role_dir .. "/" .. src
  local text2 = ezk.read_local(p2)
  if text2 then return p2, text2 end
  return p, nil, err
end

ezk.module("template", function(a, ctx)
  if not a.src then return { failed = true, msg = "src is required" } end
  if not a.dest then return { failed = true, msg = "dest is required" } end
  if a.backup or a.validate or a.force == false then
    return { failed = true, msg = "backup, validate and force=false are not supported" }
  end
  if a.vars ~= nil and type(a.vars) ~= "table" then
    return { failed = true, msg = "vars must be a table" }
  end
  local src, text, err = load(tostring(a.src))
  if not text then return { failed = true, msg = err } end
  local out, terr = ezk.template(text, a.vars, src)
  if not out then return { failed = true, msg = terr } end
  return ezk.put({ dest = a.dest, content = out, mode = mode_str(a.mode), owner = a.owner,
    group = a.group, mkdir = a.mkdir ~= false }, ctx)
end)
