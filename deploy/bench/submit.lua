-- wrk script: submitReferral with a distinct, valid NHS number and Idempotency-Key per
-- request (a new person every time), as a busy day of GP referrals would be.
-- Usage: TOKEN=... wrk -t1 -c1 -d10s -s deploy/bench/submit.lua http://127.0.0.1:8081
local counter = 0
thread_no = 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

local function nhs_number(n)
  while true do
    local base = string.format("%09d", 400000000 + n)
    local sum = 0
    for i = 1, 9 do
      sum = sum + tonumber(base:sub(i, i)) * (11 - i)
    end
    local check = 11 - (sum % 11)
    if check == 11 then check = 0 end
    if check ~= 10 then return base .. check end
    n = n + 7919
  end
end

local token = os.getenv("TOKEN")
local run = os.getenv("RUN") or tostring(os.time())

request = function()
  counter = counter + 1
  local n = thread_no * 10000000 + counter
  local body = string.format([[{"person":{"nhs_number":"%s","nhs_number_verification":"number-present-and-verified","given_name":"Robin","family_name":"Example","birth_date":"1961-05-17","address":{"lines":["14 Imaginary Row","Leeds"],"postcode":"LS6 9ZZ"},"phone":"07700 900123","preferred_contact_method":"phone","language":"en"},"needs_and_concerns":{"codes":[{"code":"422650009","display":"Social isolation"}],"text":"Lives alone"},"urgency":"routine","safeguarding_concern":false,"legal_basis":"public_task_health_care","consent":{"referral_agreed":true,"share_details_with_referrer":true},"practitioner":{"name":"Dr Placeholder","role":"GP"}}]], nhs_number(n * 13))
  return wrk.format("POST", "/referrals", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = run .. "-" .. thread_no .. "-" .. counter,
  }, body)
end

done = function(summary, latency)
  io.write(string.format("p50 %.1f ms  p99 %.1f ms  %d requests  %.0f/s\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.requests / (summary.duration / 1e6)))
end
