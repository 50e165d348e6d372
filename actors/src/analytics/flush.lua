-- Applies one day's analytics batch, exactly once per (writer instance, flush number).
-- KEYS[1]: the day's `flushes` hash; KEYS[2..]: every other key the batch writes.
-- ARGV[1] instance, ARGV[2] flush number, ARGV[3] expiry (unix s), then operations:
--   C <key#> <argc> <command> <args...>      a command on KEYS[key#]
--   E <key#> <registry#> <n> (<endpoint> <count>)*n
--                                            per-endpoint counts by the endpoint's number in
--                                            the registry hash (numbered on first sight)
--   R <registry#> <n> <endpoint>*n           number endpoints in the registry hash without
--                                            counting them for a tenant (requests cut by
--                                            their client count for no tenant)
--   T <key#> <keep>                          trim a sorted set to its <keep> highest scores
-- Each write runs under pcall: a failing one (e.g. WRONGTYPE) is reported, the rest applies.
-- Returns {applied (1) or duplicate (0), lowest kept score of the trimmed set or -1, errors}.
local inst, seq, exp = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local last = tonumber(redis.call('HGET', KEYS[1], inst) or '0')
if seq <= last then
  return {0, -1, {}}
end
redis.call('HSET', KEYS[1], inst, ARGV[2])

local errors = {}
local floor = -1
local function ok(reply, what, key)
  if type(reply) == 'table' and reply.err then
    errors[#errors + 1] = what .. ' ' .. key .. ': ' .. reply.err
    return false
  end
  return true
end

-- Endpoint numbers resolved by this call (one HGET per endpoint, not per tenant and endpoint).
local ids = {}
-- The number of an endpoint in the registry `reg`, given on first sight; nil on an error.
local function number(reg, name)
  local id = ids[name]
  if id == nil then
    id = redis.pcall('HGET', reg, name)
    if not ok(id, 'HGET', reg) then
      return nil
    end
    if not id then
      id = redis.call('HLEN', reg)
      redis.call('HSET', reg, name, id)
    end
    ids[name] = id
  end
  return id
end
local i = 4
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'C' then
    local key, argc, cmd = KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2]), ARGV[i + 3]
    ok(redis.pcall(cmd, key, unpack(ARGV, i + 4, i + 3 + argc)), cmd, key)
    i = i + 4 + argc
  elseif op == 'E' then
    local key, reg, pairs = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])], tonumber(ARGV[i + 3])
    local args = {'OVERFLOW', 'SAT'}
    local good = true
    for j = 0, pairs - 1 do
      local name, count = ARGV[i + 4 + 2 * j], ARGV[i + 5 + 2 * j]
      local id = number(reg, name)
      if id == nil then
        good = false
        break
      end
      args[#args + 1] = 'INCRBY'
      args[#args + 1] = 'u32'
      args[#args + 1] = '#' .. id
      args[#args + 1] = count
    end
    if good then
      ok(redis.pcall('BITFIELD', key, unpack(args)), 'BITFIELD', key)
    end
    i = i + 4 + 2 * pairs
  elseif op == 'R' then
    local reg, count = KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
    for j = 0, count - 1 do
      if number(reg, ARGV[i + 3 + j]) == nil then
        break
      end
    end
    i = i + 3 + count
  elseif op == 'T' then
    local key, keep = KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
    if ok(redis.pcall('ZREMRANGEBYRANK', key, 0, -(keep + 1)), 'ZREMRANGEBYRANK', key) then
      local card = redis.pcall('ZCARD', key)
      if type(card) == 'number' and card >= keep then
        local low = redis.pcall('ZRANGE', key, 0, 0, 'WITHSCORES')
        if type(low) == 'table' and low[2] then
          floor = tonumber(low[2])
        end
      end
    end
    i = i + 3
  else
    errors[#errors + 1] = 'unknown operation ' .. tostring(op)
    break
  end
end

for k = 1, #KEYS do
  redis.pcall('EXPIREAT', KEYS[k], exp)
end
return {1, floor, errors}
