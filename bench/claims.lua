-- wrk script for the claim storm.
-- Usage: wrk ... -s bench/claims.lua URL -- IDS_FILE REPEATS WON_FILE
-- Every wrk thread walks the same list of wish ids, sending REPEATS consecutive claims
-- per wish, so each wish is claimed threads x REPEATS times at nearly the same moment.

local ids = {}
local repeats = 2
local counter = 0
local threads = {}
s201, s409, sother = 0, 0, 0
-- public ids of the wishes this thread saw a 201 for, with how many 201s each
won = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then table.insert(ids, line) end
   end
   repeats = tonumber(args[2] or "2")
   won_path = args[3]
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local id = ids[math.floor(counter / repeats) % #ids + 1]
   counter = counter + 1
   local body = string.format('{"name":"bench-%d","contact":"13800001234"}', counter)
   return wrk.format("POST", "/api/v1/wishes/" .. id .. "/claim", nil, body)
end

function response(status, headers, body)
   if status == 201 then
      s201 = s201 + 1
      local wish = string.match(body, '"wish"%s*:%s*"([^"]+)"')
      if wish then won[wish] = (won[wish] or 0) + 1 end
   elseif status == 409 then
      s409 = s409 + 1
   else
      sother = sother + 1
   end
end

function done(summary, latency, requests)
   local c201, c409, cother = 0, 0, 0
   local all_won = {}
   for _, thread in ipairs(threads) do
      c201 = c201 + thread:get("s201")
      c409 = c409 + thread:get("s409")
      cother = cother + thread:get("sother")
      for wish, n in pairs(thread:get("won")) do
         all_won[wish] = (all_won[wish] or 0) + n
      end
   end
   -- the main state never ran init(): the file name is the thread's argument, read back here
   local path = threads[1]:get("won_path")
   if path then
      local f = io.open(path, "w")
      for wish, n in pairs(all_won) do f:write(wish, " ", n, "\n") end
      f:close()
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
      '"status":{"201":%d,"409":%d,"other":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      c201, c409, cother))
end
