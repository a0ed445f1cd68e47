"""Memories movies: soundtrack, storyboard, face-aware Ken Burns, transitions, cards, MP4."""

from memories.render.audiofile import AudioError
from memories.render.plan import Clip, MemoryPlan, PlanPhoto, RenderError, RenderResult
from memories.render.video import render_memory

__all__ = ["AudioError", "Clip", "MemoryPlan", "PlanPhoto", "RenderError", "RenderResult", "render_memory"]
