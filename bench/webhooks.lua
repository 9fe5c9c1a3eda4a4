-- wrk script for the webhook ingestion: POST /stripe/webhook with pre-signed Stripe events.
-- Usage: wrk ... -s bench/webhooks.lua URL -- DELIVERIES_FILE THREADS
-- The file holds one delivery a line: the Stripe-Signature header, a tab, the JSON body.
-- Of THREADS wrk threads, thread k sends lines k+1, k+1+THREADS, k+1+2×THREADS, … in file
-- order, so the threads share the list without repeating each other; a thread that reaches
-- the end starts again at its first line (every further delivery is then a duplicate).

local threads = {}
local requests = {}
local counter = 0
-- answers by HTTP status, and 200 answers by the outcome the app reported
statuses = {}
outcomes = {}
wrapped = 0

function setup(thread)
   thread:set("thread_no", #threads)
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2] or "1")
   local i = 0
   for line in io.lines(path) do
      if i % nthreads == thread_no then
         local tab = string.find(line, "\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/json",
            ["Stripe-Signature"] = string.sub(line, 1, tab - 1),
         }
         table.insert(requests, wrk.format("POST", "/stripe/webhook", headers, string.sub(line, tab + 1)))
      end
      i = i + 1
   end
end

function request()
   counter = counter + 1
   if counter > #requests then
      counter = 1
      wrapped = wrapped + 1
   end
   return requests[counter]
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if status == 200 then
      local outcome = string.match(body, '"outcome"%s*:%s*"([^"]+)"') or "unknown"
      outcomes[outcome] = (outcomes[outcome] or 0) + 1
   end
end

local function json_counts(t)
   local parts = {}
   for k, n in pairs(t) do table.insert(parts, string.format('"%s":%d', k, n)) end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local all_statuses, all_outcomes, all_wrapped = {}, {}, 0
   for _, thread in ipairs(threads) do
      for k, n in pairs(thread:get("statuses")) do all_statuses[k] = (all_statuses[k] or 0) + n end
      for k, n in pairs(thread:get("outcomes")) do all_outcomes[k] = (all_outcomes[k] or 0) + n end
      all_wrapped = all_wrapped + thread:get("wrapped")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
      '"statuses":%s,"outcomes":%s,"wrapped":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      json_counts(all_statuses), json_counts(all_outcomes), all_wrapped))
end
