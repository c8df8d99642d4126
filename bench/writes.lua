-- wrk script: durable consent writes, POST /v1/contacts/{id}/consents, for a random contact of
-- the data set (ids one per line in CONSENTO_BENCH_IDS), giving or renewing a random type.
local token = os.getenv("CONSENTO_BENCH_TOKEN")
local types = {}
for code in string.gmatch(os.getenv("CONSENTO_BENCH_TYPES") or "NEWSLETTER", "[^,]+") do
  types[#types + 1] = code
end
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local ids = {}
local kinds = { "given", "renewed" }

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  for line in io.lines(os.getenv("CONSENTO_BENCH_IDS")) do
    ids[#ids + 1] = line
  end
end

function request()
  local body = string.format('{"type_code":"%s","kind":"%s","method":"form"}',
    types[math.random(1, #types)], kinds[math.random(1, #kinds)])
  return wrk.format("POST", "/v1/contacts/" .. ids[math.random(1, #ids)] .. "/consents", headers, body)
end
