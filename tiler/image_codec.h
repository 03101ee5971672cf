// Tile encoders and decoders: JPEG through libjpeg-turbo's TurboJPEG API, PNG through libpng.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rgb_image.h"

namespace reread {

enum class TileFormat { jpeg, png };

// "jpeg"/"jpg" or "png"; throws std::invalid_argument otherwise.
TileFormat parse_tile_format(const std::string& name);
const char* extension(TileFormat f);  // "jpeg" or "png"

// Encodes packed RGB rows `stride` bytes apart. quality is 1..100 (JPEG only). Throws std::runtime_error.
std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, std::size_t stride, int quality);
std::vector<std::uint8_t> encode_png(const std::uint8_t* rgb, int width, int height, std::size_t stride);
std::vector<std::uint8_t> encode_tile(const RgbImage& img, TileFormat format, int quality);

// Decode to RGB. Throws std::runtime_error on malformed data.
RgbImage decode_jpeg(std::span<const std::uint8_t> data);
// Decodes a JPEG that must be width x height into rows `pitch` bytes apart; with `scale` 2, 4 or 8
// the decoder's DCT scaling delivers it that many times smaller (ceil(width/scale) x ceil(height/scale)).
void decode_jpeg_into(std::span<const std::uint8_t> data, int width, int height, std::uint8_t* rgb, std::size_t pitch,
                      int scale = 1);
RgbImage decode_png(std::span<const std::uint8_t> data);

}  // namespace reread
