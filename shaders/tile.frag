#version 330 core
// Brightness, contrast and gamma, applied in linear light: the tile's sRGB texels are decoded by the
// sampler (GL_SRGB8 textures), adjusted, and encoded back by the sRGB framebuffer, so a contrast change
// does not shift mid-tones the way it would on sRGB-encoded values.
in vec2 uv;
uniform sampler2D tile;
uniform float brightness;  // added in linear light, -1..1 (0: unchanged)
uniform float contrast;    // scale about linear mid-grey, 0..4 (1: unchanged)
uniform float gamma;       // display gamma adjustment, 0.2..5 (1: unchanged)
uniform bool framebuffer_srgb;  // false when the framebuffer cannot encode: encode here instead
out vec4 colour;

vec3 linear_to_srgb(vec3 c) {
  return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(vec3(0.0031308), c));
}

void main() {
  vec3 c = texture(tile, uv).rgb;                 // linear light
  const float mid = 0.214;                        // sRGB 0.5 in linear light
  c = (c - mid) * contrast + mid + brightness;
  c = clamp(c, 0.0, 1.0);
  if (gamma != 1.0) c = pow(c, vec3(1.0 / gamma));  // pow(c, 1) is not exact on every GPU
  colour = vec4(framebuffer_srgb ? c : linear_to_srgb(c), 1.0);
}
