-- bench/wrk.lua — wrk's script for bench/run.sh: the method from WRK_METHOD
-- (GET or HEAD), "Connection: close" when WRK_CLOSE=1, and one machine-read
-- line at the end:
--   BENCH requests duration_us p50_us p99_us p999_us non2xx connect read write timeout
-- (latencies in microseconds, from wrk's histogram of every request).
wrk.method = os.getenv("WRK_METHOD") or "GET"
if os.getenv("WRK_CLOSE") == "1" then
   wrk.headers["Connection"] = "close"
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
      e.status, e.connect, e.read, e.write, e.timeout))
end
