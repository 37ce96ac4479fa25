from django.urls import path

from junheng_web.reports import views

urlpatterns = [
    path("annual.<str:fmt>", views.annual, name="report_annual"),
    path("county/<str:code>.<str:fmt>", views.county, name="report_county"),
]
