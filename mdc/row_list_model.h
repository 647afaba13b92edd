#pragma once
// The skeleton every list on the screen shares: a QAbstractListModel over a
// QList of plain rows, where each list says only its roles and how a row reads.
#include <QAbstractListModel>
#include <QByteArray>
#include <QHash>
#include <QList>
#include <QVariant>

namespace mdc::ui {

/** A list model over rows of Row (a plain value with operator==). A list
 *  derives from it, declares its Role enum and roleNames(), and says what a
 *  row gives for each role in rowData(). Not a QObject of its own (moc does
 *  not take templates): the derived list carries Q_OBJECT, its properties and
 *  its signals. Thread-safety: GUI thread only. */
template <class Row>
class RowListModel : public QAbstractListModel {
 public:
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : int(rows_.size()); }
  QVariant data(const QModelIndex& index, int role) const override {
    if (!index.isValid() || index.row() >= rows_.size()) return {};
    return rowData(rows_[index.row()], index.row(), role);
  }
  /** The rows shown, in order. */
  const QList<Row>& rows() const { return rows_; }

 protected:
  /** What row (at position index) shows for role; an empty QVariant for a role it lacks. */
  virtual QVariant rowData(const Row& row, int index, int role) const = 0;

  /** Replaces the rows with a model reset, only when they differ; true when they did. */
  bool setRows(QList<Row> rows) {
    if (rows == rows_) return false;
    resetRows(std::move(rows));
    return true;
  }
  /** Replaces the rows with a model reset, even when they are the same. */
  void resetRows(QList<Row> rows) {
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
  }
  /** Inserts row at position index (views keep their place). */
  void insertAt(int index, Row row) {
    beginInsertRows({}, index, index);
    rows_.insert(index, std::move(row));
    endInsertRows();
  }
  /** Replaces the row at index, telling views only when it changed. */
  void replaceAt(int index, Row row) {
    if (rows_[index] == row) return;
    rows_[index] = std::move(row);
    emit dataChanged(this->index(index), this->index(index));
  }

 private:
  QList<Row> rows_;
};

}  // namespace mdc::ui
