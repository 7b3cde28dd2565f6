-- bench/payments_post.lua: wrk script for POST /v1/properties/{pid}/payments
-- (bench/payments.sh). Each request pays 1 to 50 yuan for a unit picked at
-- random from the file PM_BENCH_PAYMENTS_UNITS (one unit id a line), with an
-- Idempotency-Key and an external_ref of its own (thread, counter and a run
-- tag): no request is a replay. The Authorization header comes from wrk -H.
-- PM_BENCH_PAYMENTS_IDEM=0 leaves the Idempotency-Key out (a diagnosis only).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local units = {}
local methods = { "wechat", "alipay", "bank_transfer", "cash", "card" }
local counter = 0
local tag = ""
local threads = 0
local idem = true

setup = function (thread)
    threads = threads + 1
    thread:set("tid", threads)
end

init = function (args)
    local path = os.getenv("PM_BENCH_PAYMENTS_UNITS")
    for line in io.lines(path) do
        if #line > 0 then units[#units + 1] = line end
    end
    tag = os.getenv("PM_BENCH_PAYMENTS_TAG") or tostring(os.time())
    -- PM_BENCH_PAYMENTS_IDEM=0: no Idempotency-Key (to see what the gateway's claim costs)
    idem = os.getenv("PM_BENCH_PAYMENTS_IDEM") ~= "0"
    math.randomseed(os.time() * 1000 + (tid or 0))
end

request = function ()
    counter = counter + 1
    local key = string.format("%s-%d-%d", tag, tid or 0, counter)
    local body = string.format('{"unit_id":"%s","amount":%d,"method":"%s","external_ref":"PAY-%s"}',
        units[math.random(#units)], 100 * math.random(1, 50), methods[counter % #methods + 1], key)
    if idem then wrk.headers["Idempotency-Key"] = key end
    return wrk.format(nil, nil, nil, body)
end
