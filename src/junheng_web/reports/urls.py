from django.urls import path

from junheng_web.reports import views

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("counties/", views.report_rows, {"kind": "counties"}, name="report_counties"),
    path("schools/", views.report_rows, {"kind": "schools"}, name="report_schools"),
    path("annual.<str:fmt>", views.annual, name="report_annual"),
    path("county/<str:code>.<str:fmt>", views.county, name="report_county"),
    path("school/<str:code>.<str:fmt>", views.school, name="report_school"),
    path("map/boundaries.geojson", views.map_boundaries, name="map_boundaries"),
    path("map/boundaries/", views.map_upload, name="map_upload"),
]
