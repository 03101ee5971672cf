// Tile scheduling: the DeepZoom pyramid's arithmetic, and from a camera the coarse-to-fine draw list and
// the fetch list in priority order. Pure functions of their arguments.
#include "tile_scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_set>

namespace reread::viewer {

int PyramidLayout::level_count() const {
  if (width < 1 || height < 1) return 1;
  // DeepZoom halves, rounding up, until the image is 1 x 1 px.
  std::int64_t w = width, h = height;
  int n = 1;
  while (w > 1 || h > 1) {
    w = (w + 1) / 2;
    h = (h + 1) / 2;
    ++n;
  }
  return n;
}

namespace {

// ceil(size / 2^shift): what halving `shift` times, rounding up each time, gives.
std::int64_t halved(std::int64_t size, int shift) {
  if (shift <= 0) return size;
  if (shift >= 62) return 1;
  return std::max<std::int64_t>(1, (size + (std::int64_t{1} << shift) - 1) >> shift);
}

}  // namespace

std::int64_t PyramidLayout::level_width(int level) const { return halved(width, top_level() - level); }
std::int64_t PyramidLayout::level_height(int level) const { return halved(height, top_level() - level); }
double PyramidLayout::downsample(int level) const { return std::ldexp(1.0, top_level() - level); }
std::int64_t PyramidLayout::cols(int level) const { return (level_width(level) + tile_size - 1) / tile_size; }
std::int64_t PyramidLayout::rows(int level) const { return (level_height(level) + tile_size - 1) / tile_size; }

Rect PyramidLayout::tile_rect(const TileId& t) const {
  // A level's last pixel may stand for less than `downsample` level-0 pixels (the sizes were rounded
  // up), so the last tile ends at the slide's edge.
  const double span = tile_size * downsample(t.level);
  return {static_cast<double>(t.col) * span, static_cast<double>(t.row) * span,
          std::min(static_cast<double>(t.col + 1) * span, static_cast<double>(width)),
          std::min(static_cast<double>(t.row + 1) * span, static_cast<double>(height))};
}

std::int64_t PyramidLayout::image_width(const TileId& t) const {
  const std::int64_t own = std::min<std::int64_t>(tile_size, level_width(t.level) - t.col * tile_size);
  return own + overlap_left(t) + (t.col < cols(t.level) - 1 ? overlap : 0);
}

std::int64_t PyramidLayout::image_height(const TileId& t) const {
  const std::int64_t own = std::min<std::int64_t>(tile_size, level_height(t.level) - t.row * tile_size);
  return own + overlap_top(t) + (t.row < rows(t.level) - 1 ? overlap : 0);
}

int PyramidLayout::coarsest_useful_level() const {
  // Every level below the finest single-tile one is a smaller copy of it: not worth a request.
  for (int level = top_level(); level > 0; --level) {
    if (cols(level) == 1 && rows(level) == 1) return level;
  }
  return 0;
}

int PyramidLayout::level_for_scale(double scale) const {
  if (!(scale > 0)) return 0;
  // Level L's pixel spans downsample(L) = 2^(top-L) level-0 pixels; a screen pixel spans 1/scale. The
  // coarsest level whose pixel is no larger than a screen pixel (the epsilon keeps exact powers of two
  // on their own level despite rounding).
  const double k = std::floor(std::log2(1.0 / scale) + 1e-9);
  if (k <= 0) return top_level();
  return std::max(0, top_level() - static_cast<int>(std::min(k, 1000.0)));
}

TileId PyramidLayout::parent(const TileId& t) const {
  if (t.level <= 0) return t;
  // The coarser tile holding this tile's top-left pixel (for an even tile size, the one that holds it whole).
  return {t.level - 1, t.col * tile_size / 2 / tile_size, t.row * tile_size / 2 / tile_size};
}

namespace {

Rect intersect(const Rect& a, const Rect& b) {
  return {std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1), std::min(a.y1, b.y1)};
}

bool is_empty(const Rect& r) { return !(r.x1 > r.x0 && r.y1 > r.y0); }

struct TileRange {
  std::int64_t c0 = 0, c1 = -1, r0 = 0, r1 = -1;  // inclusive; empty when c1 < c0
};

TileRange tiles_covering(const PyramidLayout& layout, int level, const Rect& r) {
  if (is_empty(r)) return {};
  const double span = layout.tile_size * layout.downsample(level);
  const auto clamp_col = [&](double v) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(v), 0, layout.cols(level) - 1);
  };
  const auto clamp_row = [&](double v) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(v), 0, layout.rows(level) - 1);
  };
  return {clamp_col(std::floor(r.x0 / span)), clamp_col(std::ceil(r.x1 / span) - 1), clamp_row(std::floor(r.y0 / span)),
          clamp_row(std::ceil(r.y1 / span) - 1)};
}

template <class Fn>
void for_each_tile(int level, const TileRange& range, Fn fn) {
  for (std::int64_t row = range.r0; row <= range.r1; ++row) {
    for (std::int64_t col = range.c0; col <= range.c1; ++col) fn(TileId{level, col, row});
  }
}

}  // namespace

Plan plan_view(const Camera& camera, const PyramidLayout& layout, const std::function<bool(const TileId&)>& resident,
               const SchedulerOptions& options) {
  Plan plan;
  if (layout.width < 1 || layout.height < 1 || layout.tile_size < 1) return plan;
  const int top = layout.top_level();
  const int coarsest = layout.coarsest_useful_level();
  const int target = std::clamp(layout.level_for_scale(camera.scale), coarsest, top);
  plan.target_level = target;

  const Rect slide{0, 0, static_cast<double>(layout.width), static_cast<double>(layout.height)};
  const Rect view = intersect(camera.visible_rect(), slide);
  const bool in_view = !is_empty(view);

  // Nearest the centre of the view first; ties in reading order, so plans are deterministic. Only the
  // first `keep` are sorted and kept.
  const auto by_distance = [&](std::vector<TileId>& tiles, std::size_t keep = SIZE_MAX) {
    const auto key = [&](const TileId& t) {
      const Rect r = layout.tile_rect(t);
      const double dx = (r.x0 + r.x1) / 2 - camera.center.x, dy = (r.y0 + r.y1) / 2 - camera.center.y;
      return dx * dx + dy * dy;
    };
    std::vector<std::pair<double, TileId>> keyed;
    keyed.reserve(tiles.size());
    for (const TileId& t : tiles) keyed.emplace_back(key(t), t);
    const auto n = static_cast<std::ptrdiff_t>(std::min(keep, keyed.size()));
    std::partial_sort(keyed.begin(), keyed.begin() + n, keyed.end());
    tiles.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < tiles.size(); ++i) tiles[i] = keyed[i].second;
  };

  const TileRange target_range = in_view ? tiles_covering(layout, target, view) : TileRange{};
  for_each_tile(target, target_range, [&](const TileId& t) { plan.visible_target.push_back(t); });
  by_distance(plan.visible_target);

  // Draw: each visible target tile if resident, else the tiles one level coarser under it, and so on
  // down to the coarsest level, so every region gets the finest tile in memory.
  std::vector<std::vector<TileId>> draw_by_level(static_cast<std::size_t>(top) + 2);
  std::vector<TileId> missing_target;
  std::vector<TileId> needed = plan.visible_target;
  for (int level = target; level >= coarsest && !needed.empty(); --level) {
    std::vector<TileId> coarser;
    std::unordered_set<TileId, TileIdHash> seen;
    for (const TileId& t : needed) {
      if (resident(t)) {
        draw_by_level[level].push_back(t);
        continue;
      }
      if (level == target) missing_target.push_back(t);
      if (level == coarsest) continue;
      for_each_tile(level - 1, tiles_covering(layout, level - 1, intersect(layout.tile_rect(t), view)),
                    [&](const TileId& c) {
                      if (seen.insert(c).second) coarser.push_back(c);
                    });
    }
    needed = std::move(coarser);
  }
  // Zooming out leaves the finer tiles of the last view in memory: until a target tile arrives they are
  // sharper stand-ins than its parent, drawn over it.
  if (target < top) {
    std::unordered_set<TileId, TileIdHash> seen;
    for (const TileId& t : missing_target) {
      for_each_tile(target + 1, tiles_covering(layout, target + 1, intersect(layout.tile_rect(t), view)),
                    [&](const TileId& c) {
                      if (resident(c) && seen.insert(c).second) draw_by_level[target + 1].push_back(c);
                    });
    }
  }
  for (auto& tiles : draw_by_level) {
    by_distance(tiles);
    for (const TileId& t : tiles) plan.draw.push_back({t, layout.tile_rect(t)});
  }
  plan.complete = missing_target.empty();

  // Lists further down are only built, and sorted, while the fetch list has room: planning a frame stays
  // cheap however many tiles the finer level has in view.
  std::unordered_set<TileId, TileIdHash> listed;
  const auto full = [&] { return plan.fetch.size() >= options.max_fetch; };
  const auto fetch = [&](const TileId& t) {
    if (!full() && !resident(t) && listed.insert(t).second) plan.fetch.push_back(t);
  };
  const auto fetch_nearest = [&](std::vector<TileId> tiles) {
    std::erase_if(tiles, [&](const TileId& t) { return listed.count(t) != 0 || resident(t); });
    by_distance(tiles, options.max_fetch - plan.fetch.size());
    for (const TileId& t : tiles) {
      listed.insert(t);
      plan.fetch.push_back(t);
    }
  };
  // The coarsest single-tile level comes first of all: one small request that covers the whole slide,
  // so after one round trip no region is ever blank again, wherever the camera goes next.
  fetch({coarsest, 0, 0});
  for (const TileId& t : missing_target) fetch(t);
  if (options.coarser_gaps && target > coarsest && !full()) {
    std::vector<TileId> parents;
    std::unordered_set<TileId, TileIdHash> seen;
    for (const TileId& t : missing_target) {
      for_each_tile(target - 1, tiles_covering(layout, target - 1, intersect(layout.tile_rect(t), view)),
                    [&](const TileId& p) {
                      if (seen.insert(p).second) parents.push_back(p);
                    });
    }
    fetch_nearest(std::move(parents));
  }
  if (!in_view || full()) return plan;
  // One ring of tiles around the view at the target level: the next pan's tiles.
  const TileRange ring{
      std::max<std::int64_t>(0, target_range.c0 - 1), std::min(layout.cols(target) - 1, target_range.c1 + 1),
      std::max<std::int64_t>(0, target_range.r0 - 1), std::min(layout.rows(target) - 1, target_range.r1 + 1)};
  // Ahead of the motion: the ring's side (or sides, moving diagonally) the heading points to.
  const double norm = std::hypot(options.heading.x, options.heading.y);
  const auto leads = [&](double component) { return norm > 0 && std::abs(component) >= 0.3 * norm; };
  const auto ahead = [&](const TileId& t) {
    return (leads(options.heading.x) && (options.heading.x > 0 ? t.col > target_range.c1 : t.col < target_range.c0)) ||
           (leads(options.heading.y) && (options.heading.y > 0 ? t.row > target_range.r1 : t.row < target_range.r0));
  };
  std::vector<TileId> leading, around;
  for_each_tile(target, ring, [&](const TileId& t) {
    const bool inside =
        t.col >= target_range.c0 && t.col <= target_range.c1 && t.row >= target_range.r0 && t.row <= target_range.r1;
    if (inside) return;
    (ahead(t) ? leading : around).push_back(t);
  });
  fetch_nearest(std::move(leading));
  if (!options.prefetch || full()) return plan;
  fetch_nearest(std::move(around));
  // Then the middle of the view one level finer: the next zoom's tiles.
  if (target < top && !full()) {
    const Rect seen = camera.visible_rect();
    const double qw = seen.width() / 4, qh = seen.height() / 4;
    const Rect middle{camera.center.x - qw, camera.center.y - qh, camera.center.x + qw, camera.center.y + qh};
    std::vector<TileId> finer;
    for_each_tile(target + 1, tiles_covering(layout, target + 1, intersect(middle, view)),
                  [&](const TileId& t) { finer.push_back(t); });
    fetch_nearest(std::move(finer));
  }
  return plan;
}

}  // namespace reread::viewer
