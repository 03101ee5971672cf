#include "pyramid_cascade.h"

#include <algorithm>
#include <cstring>

#include "resample.h"

namespace reread {

std::uint8_t* RowWindow::append(std::int64_t n) {
  const std::size_t need = stride() * static_cast<std::size_t>(count_ + n);
  if (data_.size() < need) data_.resize(need);
  std::uint8_t* p = data_.data() + stride() * static_cast<std::size_t>(count_);
  count_ += n;
  return p;
}

void RowWindow::drop_before(std::int64_t y) {
  const std::int64_t drop = std::clamp<std::int64_t>(y - first_, 0, count_);
  if (drop == 0) return;
  const std::size_t keep = stride() * static_cast<std::size_t>(count_ - drop);
  std::memmove(data_.data(), data_.data() + stride() * static_cast<std::size_t>(drop), keep);
  first_ += drop;
  count_ -= drop;
}

PyramidCascade::PyramidCascade(Size base, int depths) {
  Size s = base;
  for (int d = 0; d < depths; ++d) {
    levels_.emplace_back(s.width, s.height);
    s = {std::max<std::int64_t>(1, (s.width + 1) / 2), std::max<std::int64_t>(1, (s.height + 1) / 2)};
  }
}

std::int64_t PyramidCascade::needed_from(int depth) const {
  if (depth + 1 >= depths()) return levels_[depth].height();
  return levels_[depth + 1].end_row() * 2;
}

void PyramidCascade::propagate(WorkPool& pool) {
  for (int d = 0; d + 1 < depths(); ++d) {
    RowWindow& src = levels_[d];
    RowWindow& dst = levels_[d + 1];
    // Row j needs source rows 2j and 2j+1 (or 2j alone on the last row of an odd height).
    std::int64_t end = src.end_row() / 2;
    if (src.end_row() == src.height()) end = dst.height();
    const std::int64_t begin = dst.end_row();
    if (end <= begin) continue;
    std::uint8_t* out = dst.append(end - begin);
    const std::int64_t n = end - begin;
    const std::int64_t chunk = std::max<std::int64_t>(16, n / (pool.size() * 2));
    const std::size_t tasks = static_cast<std::size_t>((n + chunk - 1) / chunk);
    pool.parallel_for(tasks, [&](std::size_t t) {
      const std::int64_t j0 = begin + static_cast<std::int64_t>(t) * chunk;
      const std::int64_t j1 = std::min(end, j0 + chunk);
      for (std::int64_t j = j0; j < j1; ++j) {
        const std::uint8_t* r0 = src.row(2 * j);
        const std::uint8_t* r1 = 2 * j + 1 < src.height() ? src.row(2 * j + 1) : nullptr;
        halve_row(r0, r1, static_cast<int>(src.width()), out + dst.stride() * static_cast<std::size_t>(j - begin));
      }
    });
  }
}

std::vector<Size> halving_sizes(Size base, std::int64_t stop_width, std::int64_t stop_height) {
  std::vector<Size> sizes{base};
  while (sizes.back().width > stop_width || sizes.back().height > stop_height) {
    const Size s = sizes.back();
    sizes.push_back({std::max<std::int64_t>(1, (s.width + 1) / 2), std::max<std::int64_t>(1, (s.height + 1) / 2)});
  }
  return sizes;
}

}  // namespace reread
