from django.urls import path

from junheng_web.questionnaires import views

urlpatterns = [
    path("<int:pk>/", views.questionnaire_list, name="questionnaire_list"),
    path("<int:pk>/define/", views.questionnaire_define, name="questionnaire_define"),
    path("<int:pk>/<str:code>/", views.questionnaire_summary, name="questionnaire_summary"),
    path("<int:pk>/<str:code>/<str:region>/", views.questionnaire_summary, name="questionnaire_summary_region"),
]
