"""The simulator's route (under /api/v1/)."""

from django.urls import path

from .simulate import SimulateView

urlpatterns = [path("simulate", SimulateView.as_view(), name="simulate")]
