from django.contrib import admin

from .models import Category, Course, Enrollment, Session, Tag


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "price", "discount_percent")
    list_filter = ("status",)
    search_fields = ("slug", "title")


admin.site.register([Category, Tag, Session, Enrollment])
