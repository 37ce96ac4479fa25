from django.urls import path

from junheng_web.cycles import dashboard_views, site_views, verdict_views, views

urlpatterns = [
    path("", views.cycle_list, name="cycle_list"),
    path("new/", views.cycle_create, name="cycle_create"),
    path("<int:pk>/", views.cycle_detail, name="cycle_detail"),
    path("<int:pk>/sample/", views.cycle_sample, name="cycle_sample"),
    path("<int:pk>/schools/", views.sampled_schools, name="sampled_schools"),
    path("<int:pk>/schools/<int:ss>/replace/", views.school_replace, name="school_replace"),
    path("<int:pk>/schools/<int:ss>/confirm/", views.school_confirm, name="school_confirm"),
    path("<int:pk>/upload/<str:kind>/", views.upload, name="upload"),
    path("<int:pk>/sites/", site_views.site_list, name="site_list"),
    path("<int:pk>/sites/per-school/", site_views.sites_per_school, name="sites_per_school"),
    path("<int:pk>/sites/<int:site>/", site_views.site_detail, name="site_detail"),
    path("<int:pk>/sites/<int:site>/pupils.csv", site_views.site_pupils, name="site_pupils"),
    path("<int:pk>/sites/<int:site>/sessions/<int:session>/<str:kind>.pdf", site_views.session_material,
         name="session_material"),
    path("<int:pk>/progress/", dashboard_views.progress, name="progress"),
    path("<int:pk>/status/", dashboard_views.school_status_page, name="school_status"),
    path("<int:pk>/progress.json", dashboard_views.progress_json, name="progress_json"),
    path("<int:pk>/dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("<int:pk>/dashboard/<str:code>/", dashboard_views.dashboard, name="dashboard_region"),
    path("<int:pk>/dashboard.json", dashboard_views.dashboard_json, name="dashboard_json"),
    path("<int:pk>/dashboard/<str:code>.json", dashboard_views.dashboard_json, name="dashboard_region_json"),
    path("<int:pk>/academic/", dashboard_views.academic, name="academic"),
    path("<int:pk>/academic/<str:code>/", dashboard_views.academic, name="academic_region"),
    path("<int:pk>/academic.json", dashboard_views.academic_json, name="academic_json"),
    path("<int:pk>/academic/<str:code>.json", dashboard_views.academic_json, name="academic_region_json"),
    path("<int:pk>/verdicts/", verdict_views.verdicts, name="verdicts"),
    path("<int:pk>/verdicts/<str:code>/", verdict_views.verdict_county, name="verdict_county"),
]
