-- wrk script: each request asks for the listing of the next package name in the file
-- named by BENCH_NAMES, round-robin, so a large index is read across, not at one key.
local names = {}
for line in io.lines(os.getenv("BENCH_NAMES")) do
  names[#names + 1] = line
end
local i = 0
request = function()
  i = i % #names + 1
  return wrk.format("GET", "/api/packages/" .. names[i])
end
