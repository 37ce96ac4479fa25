from django.contrib import admin

from junheng_web.assessment.models import (
    Block,
    BlockItem,
    Booklet,
    BookletAssignment,
    BookletBlock,
    HumanScore,
    Item,
    ItemUsage,
    PupilScore,
)


class ItemUsageInline(admin.TabularInline):
    model = ItemUsage
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("item_id", "subject", "format", "max_score", "key", "content_domain", "cognitive_level", "status")
    list_filter = ("subject", "format", "status", "cognitive_level")
    search_fields = ("item_id", "stem", "content_domain")
    inlines = [ItemUsageInline]


class BlockItemInline(admin.TabularInline):
    model = BlockItem
    extra = 0
    raw_id_fields = ("item",)


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("code", "cycle", "subject", "is_anchor")
    list_filter = ("cycle", "subject", "is_anchor")
    inlines = [BlockItemInline]


class BookletBlockInline(admin.TabularInline):
    model = BookletBlock
    extra = 0


@admin.register(Booklet)
class BookletAdmin(admin.ModelAdmin):
    list_display = ("code", "cycle", "subject")
    list_filter = ("cycle", "subject")
    inlines = [BookletBlockInline]


@admin.register(BookletAssignment)
class BookletAssignmentAdmin(admin.ModelAdmin):
    list_display = ("student_id", "cycle", "school_code", "subject", "booklet")
    list_filter = ("cycle", "subject")
    search_fields = ("student_id", "school_code")


@admin.register(HumanScore)
class HumanScoreAdmin(admin.ModelAdmin):
    list_display = ("student_id", "item", "rater", "score", "cycle", "created_at")
    list_filter = ("cycle", "rater")
    search_fields = ("student_id", "item__item_id")
    raw_id_fields = ("item",)


@admin.register(PupilScore)
class PupilScoreAdmin(admin.ModelAdmin):
    list_display = ("pupil", "cycle", "subject", "scale_score", "level")
    list_filter = ("cycle", "subject", "level")
    search_fields = ("pupil__student_id",)
    raw_id_fields = ("pupil",)
