#version 330 core
// One slide tile as a textured quad: corners in level-0 pixels relative to the camera's centre (so that
// single-precision floats stay exact on slides 200,000 px wide), mapped to the screen by the camera.
layout(location = 0) in vec2 slide_position;  // level-0 pixels minus the camera centre
layout(location = 1) in vec2 tex_coord;
uniform mat3 slide_to_clip;                    // camera: centred level-0 pixels -> clip space (zoom, rotation)
out vec2 uv;

void main() {
  vec3 clip = slide_to_clip * vec3(slide_position, 1.0);
  gl_Position = vec4(clip.xy, 0.0, 1.0);
  uv = tex_coord;
}
