// A procedural H&E-stained whole-slide image: glass with several tissue fragments, rendered on demand.
// Every pixel is an exact integer function of (spec, x, y), so tiles rendered apart always meet without seams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace reread {

struct SyntheticSlideSpec {
  std::int64_t width = 0;  // level-0 pixels
  std::int64_t height = 0;
  std::uint64_t seed = 1;
  double mpp = 0.25;  // microns per level-0 pixel; cell and nucleus sizes in pixels scale with 1/mpp
};

class SyntheticTissueModel;  // the precomputed layout and tables; defined in synthetic_tissue.cpp

class SyntheticTissue {
 public:
  // Lays out the fragments and builds the lookup tables; throws std::invalid_argument on a bad spec.
  explicit SyntheticTissue(const SyntheticSlideSpec& spec);

  const SyntheticSlideSpec& spec() const;

  // Renders level-0 pixels [x, x+w) x [y, y+h) as packed RGB into rgb, rows `stride` bytes apart.
  // A pure function of (spec, pixel): any tiling, order or threading of calls gives identical pixels.
  // Pixels outside the slide are glass. const and thread-safe.
  void render(std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb, std::size_t stride) const;

  // Whether level-0 pixel (x, y) lies inside a tissue fragment's outline, exactly as render() decides it (cheap:
  // no texture work). Fat cells, lumina and clefts within the outline count as tissue.
  bool is_tissue(std::int64_t x, std::int64_t y) const;

  // Fraction of the slide area covered by tissue, estimated from is_tissue on a grid at construction.
  double tissue_fraction() const;

 private:
  std::shared_ptr<const SyntheticTissueModel> model_;  // immutable, so copies share it across threads
};

}  // namespace reread
