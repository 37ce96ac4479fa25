from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from junheng_web.accounts.models import AuditLog, User


@admin.register(User)
class JunhengUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("junheng", {"fields": ("role", "region", "school")}))
    list_display = ("username", "role", "region", "school", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("region", "school")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "what", "ip", "rows")
    list_filter = ("action",)
    search_fields = ("username", "what", "path")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
