"""Memories movies: soundtrack, storyboard, face-aware Ken Burns, transitions, cards, MP4.

The package itself imports nothing: `memories.render.settings` (read by the CLI, the web app and
the themes) must not pull in moviepy and OpenCV. Import what you use from its module:
`render.plan` (the plan and its records), `render.video.render_memory` (the renderer),
`render.audiofile.AudioError`.
"""
