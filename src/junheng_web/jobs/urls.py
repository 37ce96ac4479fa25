from django.urls import path

from junheng_web.jobs import views

urlpatterns = [
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/status.json", views.job_status, name="job_status"),
    path("<int:pk>/annotated/", views.job_annotated, name="job_annotated"),
]
