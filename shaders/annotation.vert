#version 330 core
// Annotation outlines as line strips: vertices in level-0 pixels relative to the outlines' origin, moved
// to the camera's centre on the CPU in double precision (shift), then through the camera like the tiles.
layout(location = 0) in vec2 position;  // level-0 pixels minus the outlines' origin
layout(location = 1) in vec4 color;     // sRGB, from normalized bytes
uniform mat3 slide_to_clip;             // camera: centred level-0 pixels -> clip space
uniform vec2 shift;                     // origin minus the camera's centre, level-0 pixels
uniform vec2 pixel_offset;              // clip-space offset of this pass (lines two pixels wide)
out vec4 line_color;

void main() {
  vec3 clip = slide_to_clip * vec3(position + shift, 1.0);
  gl_Position = vec4(clip.xy + pixel_offset, 0.0, 1.0);
  line_color = color;
}
