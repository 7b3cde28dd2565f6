-- bench/tickets_post.lua: wrk script for POST /v1/properties/{pid}/tickets
-- (bench/tickets.sh). Every request opens a repair ticket: number counter,
-- insert, timeline entry and the ticket.created outbox row in one transaction.
-- The Authorization header comes from wrk -H.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local titles = { "空调不制冷", "走廊灯不亮", "卫生间漏水", "电梯异响", "门禁卡失效", "停车场道闸故障" }
local prios = { "low", "normal", "normal", "high", "urgent" }
local n = 0

request = function ()
    n = n + 1
    local body = string.format(
        '{"type":"repair","title":"%s","description":"压测 %d","channel":"hotline",' ..
        '"priority":"%s","category":"bench"}',
        titles[n % #titles + 1], n, prios[n % #prios + 1])
    return wrk.format(nil, nil, nil, body)
end
