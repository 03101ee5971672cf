#include "pyramid_streamer.h"

#include <algorithm>
#include <chrono>

namespace reread {

PyramidStreamer::PyramidStreamer(PyramidStreamSpec spec, WorkPool& pool)
    : spec_(std::move(spec)), pool_(pool), cascade_(spec_.base, spec_.depths), next_tile_row_(spec_.depths, 0) {
  if (spec_.emit.empty()) spec_.emit.assign(spec_.depths, true);
}

void PyramidStreamer::collect_ready(int depth, bool last, std::vector<TileJob>& jobs) {
  RowWindow& lvl = cascade_.level(depth);
  const std::int64_t t = spec_.tile_size, ov = spec_.overlap;
  const std::int64_t rows = (lvl.height() + t - 1) / t;
  const std::int64_t cols = (lvl.width() + t - 1) / t;
  std::int64_t& r = next_tile_row_[depth];
  while (r < rows) {
    const std::int64_t y0 = r * t - (r > 0 ? ov : 0);
    const std::int64_t y1 = std::min((r + 1) * t + ov, lvl.height());
    if (lvl.end_row() < y1 && !(last && lvl.end_row() == lvl.height())) break;
    if (spec_.emit[depth]) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t x0 = c * t - (c > 0 ? ov : 0);
        const std::int64_t x1 = std::min((c + 1) * t + ov, lvl.width());
        TileJob job;
        job.depth = depth;
        job.col = c;
        job.row = r;
        job.width = static_cast<int>(x1 - x0);
        job.height = static_cast<int>(y1 - y0);
        job.stride = lvl.stride();
        job.pixels = lvl.row(y0) + static_cast<std::size_t>(x0) * 3;
        job.index = jobs.size();
        jobs.push_back(job);
      }
    }
    ++r;
  }
}

void PyramidStreamer::run(const Produce& produce, const Encode& encode, const BatchDone& batch_done,
                          const BatchStart& batch_start) {
  using Clock = std::chrono::steady_clock;
  auto lap = [t = Clock::now()](double& into) mutable {
    const auto now = Clock::now();
    into += std::chrono::duration<double>(now - t).count();
    t = now;
  };
  RowWindow& top = cascade_.level(0);
  std::vector<TileJob> jobs;
  for (std::int64_t y = 0; y < top.height();) {
    const std::int64_t n = std::min(spec_.strip_rows, top.height() - y);
    std::uint8_t* dst = top.append(n);
    lap(times_.store);
    produce(y, n, dst, top.stride());
    lap(times_.produce);
    y += n;
    cascade_.propagate(pool_);
    lap(times_.downsample);

    const bool last = y == top.height();
    jobs.clear();
    for (int d = 0; d < spec_.depths; ++d) collect_ready(d, last, jobs);
    if (batch_start) batch_start(jobs.size());
    pool_.parallel_for(jobs.size(), [&](std::size_t i) { encode(jobs[i]); });
    lap(times_.encode);
    if (batch_done) batch_done(jobs);

    // Keep what the next tile row and the next halving still need.
    for (int d = 0; d < spec_.depths; ++d) {
      RowWindow& lvl = cascade_.level(d);
      const std::int64_t next_tile_start = next_tile_row_[d] * spec_.tile_size - spec_.overlap;
      lvl.drop_before(std::min(next_tile_start, cascade_.needed_from(d)));
    }
  }
}

}  // namespace reread
