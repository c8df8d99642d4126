-- wrk script: POST /v1/decisions for a random demo contact (external id DEMO-000001…), a random
-- action. The token and the number of contacts come from the environment.
local token = os.getenv("CONSENTO_BENCH_TOKEN")
local contacts = tonumber(os.getenv("CONSENTO_BENCH_CONTACTS") or "1000000")
local actions = { "email.bulk", "email.single", "phone.call", "sms.single" }
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local body = string.format('{"contact":{"external_id":"DEMO-%06d"},"action":"%s"}',
    math.random(1, contacts), actions[math.random(1, #actions)])
  return wrk.format("POST", "/v1/decisions", headers, body)
end
