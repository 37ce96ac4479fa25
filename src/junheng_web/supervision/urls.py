from django.urls import path

from junheng_web.supervision import views

urlpatterns = [
    path("", views.review_queue, name="review_queue"),
    path("sessions/<int:session>/", views.session_video, name="session_video"),
    path("sessions/<int:session>/upload/", views.recording_upload, name="recording_upload"),
    path("sessions/<int:session>/analyse/", views.session_analyse, name="session_analyse"),
    path("sessions/<int:session>/forensics/", views.session_forensics, name="session_forensics"),
    path("flags/<int:flag>/", views.flag_detail, name="flag_detail"),
    path("flags/<int:flag>/review/", views.flag_review, name="flag_review"),
    path("recordings/<int:recording>/file", views.recording_file, name="recording_file"),
    path("recordings/<int:recording>/thumbs/<str:name>", views.recording_thumb, name="recording_thumb"),
]
