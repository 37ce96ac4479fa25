from django.urls import path

from junheng_web.omr import views

urlpatterns = [
    path("", views.review_queue, name="omr_queue"),
    path("sessions/<int:session>/", views.session_sheets, name="omr_session"),
    path("sessions/<int:session>/upload/", views.upload, name="omr_upload"),
    path("uploads/<int:upload>/final/", views.mark_final, name="omr_final"),
    path("reviews/<int:review>/", views.review_detail, name="omr_review"),
    path("reviews/<int:review>/image.jpg", views.review_image, name="omr_image"),
    path("sheets/<int:sheet>/pupil/", views.sheet_pupil, name="omr_pupil"),
    path("sheets/<int:sheet>/id.jpg", views.sheet_id_image, name="omr_id_image"),
    path("channels/<int:flag>/", views.channel_choice, name="omr_channel"),
]
