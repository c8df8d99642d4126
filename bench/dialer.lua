-- wrk script: the dialer's GET /v1/dialer?phone=… for a random number of the data set (one
-- E.164 number per line in the file named by CONSENTO_BENCH_PHONES).
local token = os.getenv("CONSENTO_BENCH_TOKEN")
local headers = { ["Authorization"] = "Bearer " .. token }
local phones = {}

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  for line in io.lines(os.getenv("CONSENTO_BENCH_PHONES")) do
    phones[#phones + 1] = line:gsub("%+", "%%2B")
  end
end

function request()
  return wrk.format("GET", "/v1/dialer?phone=" .. phones[math.random(1, #phones)], headers)
end
