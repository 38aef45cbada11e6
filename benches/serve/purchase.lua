-- wrk script: each request is one purchase by a random enrolled member,
-- with an id no other request has, and no `at` (it happens when it is
-- received, as a till's would). MEMBERS members m0.. must be enrolled.
local members = tonumber(os.getenv("MEMBERS") or "10000")
local sent = 0

function setup(thread)
  thread:set("prefix", string.format("w%d-%d", os.time(), math.random(1, 1e9)))
end

function init(args)
  math.randomseed(os.time() + math.random(1, 1e6))
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"id":"%s-%d","type":"purchase","member":"m%d","amount":"%d.%02d"}',
    prefix, sent, math.random(0, members - 1), math.random(5, 200), math.random(0, 99))
  return wrk.format("POST", "/v1/events", { ["Content-Type"] = "application/json" }, body)
end
