from django.urls import path

from junheng_web.delivery import views

urlpatterns = [
    path("", views.signin, name="delivery_signin"),
    path("confirm/", views.confirm, name="delivery_confirm"),
    path("take/", views.take, name="delivery_take"),
    path("answers/", views.answers, name="delivery_answers"),
    path("submit/", views.submit, name="delivery_submit"),
    path("status/", views.status, name="delivery_status"),
    path("sw.js", views.service_worker, name="delivery_sw"),
    path("questionnaire/answers/", views.questionnaire_answers, name="delivery_q_answers"),
    path("questionnaire/submit/", views.questionnaire_submit, name="delivery_q_submit"),
    path("signout/", views.signout, name="delivery_signout"),
    path("sessions/", views.sessions_index, name="delivery_sessions"),
    path("sessions/<int:session>/", views.session_status, name="delivery_session"),
    path("sessions/<int:session>/status.json", views.session_json, name="delivery_session_json"),
    path("sessions/<int:session>/act/", views.session_act, name="delivery_session_act"),
    path("sessions/<int:session>/unlock/", views.unlock, name="delivery_unlock"),
]
