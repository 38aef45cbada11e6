-- wrk script: each request quotes a basket for a random enrolled member.
local members = tonumber(os.getenv("MEMBERS") or "10000")

function init(args)
  math.randomseed(os.time() + math.random(1, 1e6))
end

function request()
  local body = string.format(
    '{"member":"m%d","amount":"%d.%02d"}',
    math.random(0, members - 1), math.random(5, 200), math.random(0, 99))
  return wrk.format("POST", "/v1/quote", { ["Content-Type"] = "application/json" }, body)
end
